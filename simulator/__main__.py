"""``python -m simulator`` — same as the ``simulator`` console command."""

from simulator.cli import main

if __name__ == "__main__":
    main()
