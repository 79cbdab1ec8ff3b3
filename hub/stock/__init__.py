"""Stock: the ledger of on-hand, reserved and available units per client, SKU and location
(``ledger``), the marking of changed SKUs for every channel selling them as a transaction commits
(``changes``), and the sync passes that push levels to each channel within its rate limits
(``sync``).

It may import ``hub.jobs``, ``hub.runtime``, ``hub.storage``, ``hub.connectors`` and the leaf
modules. Importing any part of it registers the commit hook (below), so a stock change made
anywhere always reaches the channels.
"""

# registers the before-commit hook that tells the channels of every stock change
from hub.stock import changes as changes
