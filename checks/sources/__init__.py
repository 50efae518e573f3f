"""Where a snapshot comes from: manifest files, a live cluster, or the bundled demo cluster."""
