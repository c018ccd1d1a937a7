"""The rebalancing brain: strategies, triggers, allocation models, cost-aware decisions and
proposals that a user signs as a rebalance intent.

Nothing here touches the network at import time; chain reads live in ``portfolio.py`` and
``prices.py`` and take a web3 connection explicitly.
"""
