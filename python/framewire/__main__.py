"""python -m framewire view URL — see framewire.view."""
import sys

from .view import main

if __name__ == "__main__":
    sys.exit(main())
