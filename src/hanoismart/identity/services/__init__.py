"""Every write of the identity app: accounts and sign-in (``accounts``, ``sign_in``), organisations and
staff positions (``organisations``, ``staff``). Import from the submodule that owns the use case."""
