"""LLM providers behind one streaming interface."""
