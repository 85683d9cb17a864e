"""The public web chat: a page and a small API in front of Rasa's REST channel."""
