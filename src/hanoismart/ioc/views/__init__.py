"""The operations center's pages (under /ioc/): ``dashboard`` (overview, a KPI's breakdown, the records behind
a figure), ``public_services``, ``reporting``, ``alerts``, ``maps``. Thin: they read the filters, call the ioc
selectors and services (and the other apps' selectors), and render."""
