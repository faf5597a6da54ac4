"""The transactional inbox: stored platform events claimed and handled, once, in chat order."""
