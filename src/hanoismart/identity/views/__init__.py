"""Identity pages: the resident's own account (``accounts``) and staff screens (``staff``)."""
