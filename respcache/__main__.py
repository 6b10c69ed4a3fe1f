"""``python -m respcache [CONFIGFILE] [--option value ...]``: the same as ``respcache-server``."""

from respcache.cli import main

if __name__ == "__main__":
    main()
