"""The development loop on top of the pipeline: `portico serve`.

server.py       build, serve the output on localhost, watch the inputs, reload open pages
reload.js       the script the server adds to pages it sends (never written to the output)

Its quick rebuilds are the incremental package's sessions (`generator/incremental/`).
"""
