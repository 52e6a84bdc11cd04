"""Test doubles that speak the platforms' wire formats."""
