"""Reads of the identity app: accounts (``accounts``) and staff scoping (``staff``)."""
