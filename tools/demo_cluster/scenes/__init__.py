"""The demo cluster's story, one module per namespace or cluster-wide topic (see the package's
docstring for which deliberate problem lives where). Each scene is a function of the shared
``Builder``; ``cluster.SCENES`` runs them in a fixed order."""
