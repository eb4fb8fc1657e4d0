"""Widen: a self-hosted collaborative document editor, private by default, social by need."""
