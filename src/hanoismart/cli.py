"""The `hanoismart` console script: Django's commands plus `demo`, `serve`, `worker`, `seed`, `import`.

`hanoismart serve` runs the production server (granian, ASGI); `hanoismart worker` runs huey's consumer;
`hanoismart demo` prepares the demo (migrate, seed) and runs both; everything else is a Django command.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hanoismart.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    aliases = {"worker": "run_huey", "import": "import_data"}
    if len(argv) > 1 and argv[1] in aliases:
        argv[1] = aliases[argv[1]]
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
