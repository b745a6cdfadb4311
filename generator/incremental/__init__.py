"""Quick rebuilds: only the customers whose export rows changed are read, rendered and sealed again.

session.py      what a build remembers (in a long-running process, or kept beside the output for the
                next `portico build`), and the quick rebuild itself
export_diff.py  which customers an export edit touched, by comparing the export's lines
kept.py         the memory kept beside the output between processes, encrypted with the keystore
"""
