"""质培联动 — quality inspection linked to training: bring the shop's real chats in and QA-grade them, classify
the problems (个体 / 共性 / 多发 / 突发) per criterion and agent, turn a problem into a training plan with
assignments and spaced retests, show the improvement, and share it (CSV, xAPI).

One noun per module:

* ``chatlog`` — the import formats (JSON/JSONL transcripts, CSV rows, plain-text chat logs) → :class:`ImportedChat`
* ``importer`` — an import: parse, map agents to accounts, store everything in one transaction, queue the QA job
* ``kpis`` — first / average response time, 答问比, conversion, satisfaction of one conversation
* ``attempts`` — what happens when any conversation is graded: analytics rows, assignment progress, xAPI
* ``jobs`` — the QA job: batch grading that survives a restart
* ``scope`` — who sees whose analytics, and the dashboard's filters
* ``dashboard`` — the trainer's figures (pass rate, dimensions over time, heatmap, top findings, KPIs)
* ``problems`` with ``thresholds`` — classification and the recommended training mode
* ``plans`` — training plans, assignment status, spaced retests
* ``improvement`` — before vs after training, per criterion and agent
* ``reviews`` — a trainer's finding overrides applied to a grade
* ``export`` — CSV; ``xapi`` — statements and the outbox sender
* ``demo`` — a plausible month of team data for the demo set-up

Nothing here imports ``web/``; the web app's routes call these functions.
"""
