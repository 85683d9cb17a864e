// GOV.UK Frontend's body classes, set before the page paints (an inline script would need a CSP exception).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
