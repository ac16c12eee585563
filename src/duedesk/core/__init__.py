"""The rules: pure Python, no Django. Given state and time, return decisions."""
