"""Logic of the mutuals information line assistant.

Plain Python with no Rasa import, so every piece can be tested without a server:
``kb`` loads and validates the knowledge base, ``match`` ranks entries for a question,
``respond`` turns a match into the reply a user or operator sees.
"""
