"""Everything that needs a reviewer's private key, and runs on her own machine.

Open and decide cases (cases, decisions), find duplicates, ask follow-up questions, export for
partners (export, export_policy), draft UN submissions (un), the console (console/), rewrap
keys for a newcomer (rewrap), and her key file itself (keys). Nothing the bot's server runs
imports this package: an import contract (pyproject.toml, `lint-imports`) checks it.
"""
