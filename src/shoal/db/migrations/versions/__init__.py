"""One module per migration, ``NNNN_<what>.py``; revision ids are the numbers."""
