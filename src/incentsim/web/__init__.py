"""The local web page for directors and HR (``incentsim serve``).

A thin layer over the public API: a scenario is edited as the nested dict a TOML file parses to
(:mod:`~incentsim.web.draft`), checked by the same loader as files (``scenario_from_dict``),
compared with :func:`incentsim.compare` in a cancellable background job
(:mod:`~incentsim.web.runner`), and shown with the report modules (:mod:`~incentsim.web.views`).
The page itself (:mod:`~incentsim.web.app`) is built with NiceGUI; only that module imports it.

Modules: :mod:`~incentsim.web.fields` (form controls: key, label, unit, valid range),
:mod:`~incentsim.web.draft` (the edited scenario, its file and its shareable link),
:mod:`~incentsim.web.runner`, :mod:`~incentsim.web.views`, :mod:`~incentsim.web.app`.
"""
