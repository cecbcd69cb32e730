"""Local development infrastructure."""
