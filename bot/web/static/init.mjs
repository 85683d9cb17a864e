// Start GOV.UK Frontend's components (skip link, service navigation, password input, buttons).
import { initAll } from "/assets/govuk-frontend.min.js";

initAll();
