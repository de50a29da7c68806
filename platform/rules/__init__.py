"""Rules: the expression language, the rules language, the engine and the scheduler."""
