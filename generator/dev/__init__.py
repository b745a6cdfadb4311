"""The development loop on top of the pipeline: `portico serve` and its quick rebuilds.

server.py       build, serve the output on localhost, watch the inputs, reload open pages
session.py      what a long-running process remembers, to rebuild only touched customers
export_diff.py  which customers an export edit touched, by comparing the export's lines
reload.js       the script the server adds to pages it sends (never written to the output)
"""
