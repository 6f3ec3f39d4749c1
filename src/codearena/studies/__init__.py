"""The participant platform's domain: studies, invites, participants, tasks, runs, ratings,
votes and survey answers, as plain service functions over the store.

No module here imports FastAPI, Starlette or ``codearena.web``: every service takes the store
(and the catalog or sandbox it needs) with plain typed inputs, returns store rows or plain
results, and raises a :class:`~codearena.studies.errors.StudyError`. The web platform keeps the
routes, presenters, auth, CSRF and rate limits, and translates these errors to HTTP in one
place (``codearena.web.errors``).

* ``errors``: the one error tree (``StudyError`` and its kinds);
* ``study``: ``StudySpec`` and creating, listing, opening and closing a study, its counts;
* ``invites``: the platform secret and signed invite tokens;
* ``participants``: joining (``JoinInput``) and consent;
* ``tasks``: ``TaskInput`` (one parser for the form and the API), the checks, the stored row;
* ``lifecycle``: a study task's link to its pipeline task, its end, interrupted tasks;
* ``access``: a participant's own task and an arrived answer;
* ``judgements``: ratings with comments, blind votes, named upvotes, own summary;
* ``selfident``: does an answer introduce itself as a model (flags the vote);
* ``survey``: answers saved one by one, submit, the lock;
* ``runs``: the program a Run executes, its execution and the stored row.
"""
