# Make `ansible_collections.ovsmesh.overlay` importable from the checkout: collections/ holds
# ansible_collections/ovsmesh/overlay, a symlink to the repository root.
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "collections"))
