"""``python -m mock_as`` is ``mock-as``."""

from mock_as.cli import main

if __name__ == "__main__":
    main()
