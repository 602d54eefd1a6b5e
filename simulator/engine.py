"""The engine: one object that runs the whole product, for the web app and the command line alike.

    scenario ──▶ session ──▶ customer ⇄ trainee ──▶ grader ──▶ stored grade

* :attr:`Engine.scenarios` finds a scenario (by id, or a YAML path on the command line).
* :meth:`Engine.start` creates a :class:`~simulator.session.Session` and stores it with the customer's opening.
* :meth:`Engine.submit` stores the trainee's message (committed before the page shows it as sent);
  :meth:`Engine.respond` has :meth:`Engine.customer` answer it and stores the answer with the customer's
  state. Two steps, so nothing the trainee saw acknowledged is lost, and a pending message is answered after a
  crash or by another instance.
* :meth:`Engine.end` ends it from the trainee's side; then :meth:`Engine.grade_session` has :meth:`Engine.grader`
  grade its transcript and stores the :class:`~simulator.grading.result.Grade` (in the background by default).

Without a database the same parts play and grade directly (:meth:`Engine.play`, :meth:`Engine.grade`), which is
what ``simulator play``, ``grade`` and ``check`` do. Every part is built from :class:`~simulator.settings.Settings`
on first use and shared (one embedder, act detector, knowledge base and grader per process); tests inject
fakes for any of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from simulator.errors import NotFound
from simulator.knowledge.lazy import LazyKnowledge
from simulator.knowledge.passage import Retriever
from simulator.scenario.catalogue import Catalogue
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Outcome
from simulator.session import Clock, Session, SessionKind, SessionNotReady, SessionStatus, play_replies, utc_now
from simulator.settings import Settings
from simulator.transcript import Transcript
from simulator.turn import Turn

if TYPE_CHECKING:
    from simulator.acts import ActDetector
    from simulator.customer.base import Customer
    from simulator.embedding.base import Embedder
    from simulator.grading.grader import Judge
    from simulator.grading.result import Grade
    from simulator.store.database import Database

log = logging.getLogger("simulator.engine")

CustomerFactory = Callable[[Scenario], "Customer"]


class GradesTranscripts(Protocol):
    """What the engine needs of a grader (:class:`~simulator.grading.grader.Grader`, or a fake in tests)."""

    @property
    def version(self) -> str:
        """Stored with every grade."""
        ...

    def grade(
        self, transcript: Transcript, scenario: Scenario | None = None, variables: Mapping[str, str] | None = None
    ) -> Grade:
        """Grade one transcript."""
        ...


class Engine:
    """Scenarios, customers, the grader and the store, built from settings on first use.

    Args:
        settings: Everything configurable.
        store: An open database (default: opened and migrated from ``settings`` when first needed).
        customers: Builds the customer for a scenario (default: scripted, or the LLM customer when an endpoint
            is configured).
        grader: Grades transcripts (default: the offline grader with the embedder and the knowledge base).
        knowledge: Knowledge search (default: the built index, opened on first search).
        embedder: The embedder (default: the one ``settings.embedder`` names, loaded on first use).
        embeddings: False = no embedder at all (keywords only — ``simulator check`` without ``--kb``).
        knowledge_index: False = no knowledge base (knowledge is judged against the scenario alone).
        judge: An LLM judge for the soft criteria (default grader only).
        pass_mark: Overrides ``settings.pass_mark`` (default grader only).
        clock: Returns now in UTC (tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Database | None = None,
        customers: CustomerFactory | None = None,
        grader: GradesTranscripts | None = None,
        knowledge: Retriever | None = None,
        embedder: Embedder | None = None,
        embeddings: bool = True,
        knowledge_index: bool = True,
        judge: Judge | None = None,
        pass_mark: float | None = None,
        clock: Clock | None = None,
    ):
        self.settings = settings
        self.clock: Clock = clock or utc_now
        self._store = store
        self._customers = customers
        self._grader = grader
        self._embedder = embedder
        self._embeddings = embeddings
        self._judge = judge
        self._pass_mark = pass_mark
        self._detector: ActDetector | None = None
        # Reentrant: grader() holds it while it asks for the embedder and detector, which take it too. A server's
        # background warm-up and its first requests may ask for the same part at once.
        self._lock = threading.RLock()
        self.knowledge: Retriever | LazyKnowledge | None = knowledge
        if knowledge is None and knowledge_index:
            self.knowledge = LazyKnowledge(settings, self.embedder)
        self._locks: dict[str, threading.Lock] = {}
        self._frozen: dict[tuple[int, str], Scenario] = {}
        self._locks_guard = threading.Lock()
        # Grading costs far more CPU than a chat turn (it embeds many sentences), so it runs after the answer
        # is sent, one at a time, instead of inside the request that ended the conversation.
        self._grading = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grading")

    # -- the parts ------------------------------------------------------------------------------------------

    @cached_property
    def scenarios(self) -> Catalogue:
        """Every scenario under ``settings.scenarios_dir`` (reloaded when files change)."""
        return Catalogue(self.settings)

    def embedder(self) -> Embedder | None:
        """The shared embedder (loaded on first use), or None without embeddings."""
        if self._embedder is None and self._embeddings:
            with self._lock:
                if self._embedder is None:
                    from simulator.embedding.batching import BatchingEmbedder
                    from simulator.embedding.factory import make_embedder

                    self._embedder = BatchingEmbedder(make_embedder(self.settings))
        return self._embedder

    def detector(self) -> ActDetector:
        """The shared act detector (its example-embedding cache serves every session)."""
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from simulator.acts import ActDetector

                    self._detector = ActDetector(self.embedder())
        return self._detector

    def knowledge_base(self) -> Retriever | None:
        """The knowledge search, opened now if it was not; None when there is none (never built, or turned off)."""
        if isinstance(self.knowledge, LazyKnowledge):
            return self.knowledge.get()
        return self.knowledge

    def customer(self, scenario: Scenario) -> Customer:
        """The customer for ``scenario``: scripted offline, the LLM customer when an endpoint is configured."""
        if self._customers is not None:
            return self._customers(scenario)
        from simulator.customer.factory import make_customer

        return make_customer(self.settings, scenario, embedder=self.embedder(), detector=self.detector())

    def grader(self) -> GradesTranscripts:
        """The shared grader (built on first use)."""
        if self._grader is None:
            with self._lock:
                if self._grader is None:
                    from simulator.grading.grader import Grader

                    grader: GradesTranscripts = Grader(
                        self.settings,
                        retriever=self.knowledge,
                        embedder=self.embedder(),
                        detector=self.detector(),
                        judge=self._judge,
                        pass_mark=self._pass_mark,
                    )
                    self._grader = grader
        return self._grader

    @property
    def store(self) -> Database:
        """The database (opened and migrated on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from simulator.store.database import open_database

                    self._store = open_database(self.settings.sqlalchemy_url, create_dir=self.settings.data_dir)
        return self._store

    # -- without a database: play and grade (the command line) ---------------------------------------------

    def play(
        self,
        scenario: Scenario,
        replies: Sequence[str],
        *,
        reply_seconds: float = 15.0,
        seed: int = 0,
        kind: SessionKind = SessionKind.REFERENCE,
        digest: str = "",
    ) -> Session:
        """Play scripted trainee replies against this engine's customer on a simulated clock (see
        :func:`~simulator.session.play_replies`)."""
        customer = self.customer(scenario)
        return play_replies(
            scenario, customer, replies, reply_seconds=reply_seconds, seed=seed, kind=kind, digest=digest
        )

    def grade(
        self, transcript: Transcript, scenario: Scenario | None = None, variables: Mapping[str, str] | None = None
    ) -> Grade:
        """Grade a transcript (against its scenario, when it followed one)."""
        return self.grader().grade(transcript, scenario, variables)

    # -- the stored flow (the web app) ----------------------------------------------------------------------

    def conversation(self, session_id: str) -> Session:
        """A stored conversation with all its turns (raises :class:`NotFound`)."""
        from simulator.store.sessions import load_session

        with self.store.read() as s:
            found = load_session(s, session_id, max_reply_chars=self.settings.max_message_chars)
        if found is None:
            raise NotFound("no such conversation")
        return found[1]

    def owner(self, session_id: str) -> int:
        """The user id a stored conversation belongs to — one row read (raises :class:`NotFound`)."""
        from simulator.store.sessions import get_session

        with self.store.read() as s:
            row = get_session(s, session_id)
        if row is None:
            raise NotFound("no such conversation")
        return row.user_id

    def start(self, user_id: int, scenario_id: str, *, kind: SessionKind = SessionKind.PRACTICE) -> str:
        """Resume the user's unfinished conversation of this scenario, or start a new one; returns its id."""
        from simulator.store.sessions import active_session, create_session

        entry = self.scenarios.get(scenario_id)
        with self.store.read() as s:
            existing = active_session(s, user_id, scenario_id, kind)
            if existing is not None:
                return existing.id
        session = Session.create(
            entry.scenario,
            kind=kind,
            trainee_id=str(user_id),
            digest=entry.digest,
            max_reply_chars=self.settings.max_message_chars,
            clock=self.clock,
        )
        session.start(self.customer(entry.scenario))
        with self.store.write() as s:
            return create_session(s, session, user_id=user_id).id

    def submit(self, session_id: str, text: str) -> Turn:
        """Store the trainee's message, committed before returning.

        Raises:
            EmptyReply, ReplyTooLong, SessionEnded, AwaitingAnswer: the message cannot be taken now.
            NotFound: no such conversation.
        """
        from simulator.store.sessions import load_session, save_progress

        with self.store.write() as s:
            found = load_session(s, session_id, for_update=True, max_reply_chars=self.settings.max_message_chars)
            if found is None:
                raise NotFound("no such conversation")
            row, session = found
            turn = session.use_clock(self.clock).add_reply(text)
            save_progress(s, row, session)
            return turn

    def respond(self, session_id: str, *, on_delta: Callable[[str], None] | None = None) -> bool:
        """Answer the waiting trainee message, if any (idempotent). Returns True when the conversation ended now.

        The customer runs outside any transaction; its turns and state are stored in one, unless another
        request answered the same message meanwhile (then nothing is stored twice).

        Args:
            session_id: The conversation.
            on_delta: Receives the customer's text as the model streams it (provisional: the committed turn
                may differ after a fallback to the scripted line).
        """
        from simulator.store.sessions import get_session, load_session, save_progress

        with self._lock_for(session_id):
            with self.store.read() as s:
                found = load_session(s, session_id, max_reply_chars=self.settings.max_message_chars)
            if found is None:
                raise NotFound("no such conversation")
            _, session = found
            if not session.awaiting_answer:
                return False
            try:
                customer = self.customer(self.scenario_of(session))
                session.use_clock(self.clock).answer(customer, on_delta=on_delta)
            except SessionNotReady:
                return False
            with self.store.write() as s:
                fresh = get_session(s, session_id, for_update=True)
                if fresh is None or fresh.answered_seq != found[0].answered_seq or not fresh.active:
                    return False  # answered (or ended) meanwhile
                save_progress(s, fresh, session)
        if session.ended:
            self.grade_later(session_id)
        return session.ended

    def end(self, session_id: str, *, abandon: bool) -> None:
        """End the conversation from the trainee's side, then grade it in the background.

        ``abandon`` = gave up (outcome ``abandoned``); otherwise the trainee closed the chat before the
        customer decided, which for the customer means they left.
        """
        from simulator.store.sessions import load_session, save_progress

        with self._lock_for(session_id), self.store.write() as s:
            found = load_session(s, session_id, for_update=True, max_reply_chars=self.settings.max_message_chars)
            if found is None:
                raise NotFound("no such conversation")
            row, session = found
            if session.ended:
                return
            session.use_clock(self.clock).end(
                reason="abandoned" if abandon else "trainee-ended",
                outcome=Outcome.ABANDONED if abandon else Outcome.LEFT,
                abandoned=abandon,
            )
            save_progress(s, row, session)
        self.grade_later(session_id)

    def grade_later(self, session_id: str) -> None:
        """Grade a finished conversation on the background worker (see :meth:`grade_quietly`)."""
        self._grading.submit(self.grade_quietly, session_id)

    def grade_quietly(self, session_id: str) -> bool:
        """:meth:`grade_session`, but a grader failure is logged instead of raised: the conversation has ended and
        been saved either way, and the report page tries again (and says "not graded" if it still fails)."""
        try:
            return self.grade_session(session_id)
        except Exception:
            log.exception("grading session %s failed", session_id)
            return False

    def grade_session(self, session_id: str, *, force: bool = False) -> bool:
        """Grade a finished conversation and store the grade (once, unless ``force``).

        Returns False when it cannot be graded (not finished, or its scenario is gone). The report page calls
        this too: if the background grading is running, it waits for it. An exam conversation is graded against
        the scenario it was played on (frozen with the attempt), whatever the file says now.
        """
        from simulator.store.grades import get_grade, save_grade
        from simulator.store.sessions import load_session

        with self._lock_for(f"grade:{session_id}"):
            with self.store.read() as s:
                found = load_session(s, session_id)
                if found is None or found[1].status is SessionStatus.ACTIVE:
                    return False
                if get_grade(s, session_id) is not None and not force:
                    return True
            session = found[1]
            try:
                scenario = self.scenario_of(session)
            except NotFound:
                return False
            grader = self.grader()
            grade = grader.grade(session.transcript(), scenario, session.variables)
            with self.store.write() as s:
                save_grade(s, session_id, grade, grader_version=grader.version)
        return True

    def scenario_of(self, session: Session) -> Scenario:
        """The scenario a conversation is played on: the catalogue's, or for an exam role-play the one frozen with
        its attempt (raises :class:`NotFound` when there is none)."""
        if session.exam_attempt_id is None:
            return self.scenarios.get(session.scenario_id).scenario
        key = (session.exam_attempt_id, session.scenario_id)
        found = self._frozen.get(key)
        if found is None:
            from simulator.store.exams import frozen_scenario

            with self.store.read() as s:
                data = frozen_scenario(s, session.exam_attempt_id, session.scenario_id)
            if data is None:
                raise NotFound(f"exam attempt {session.exam_attempt_id} has no scenario '{session.scenario_id}'")
            found = Scenario.model_validate(data)
            with self._lock:
                if len(self._frozen) > 512:
                    self._frozen.clear()
                self._frozen[key] = found
        return found

    def start_exam(
        self,
        user_id: int,
        scenario: Scenario,
        *,
        attempt_id: int,
        digest: str,
        seed: int,
        variables: Mapping[str, str],
    ) -> str:
        """Start one role-play of an exam attempt on its frozen scenario and drawn variant; returns the session id.

        Unlike :meth:`start` it never resumes another conversation: each role-play of each attempt is its own.
        """
        from simulator.store.sessions import create_session

        session = Session.create(
            scenario,
            kind=SessionKind.EXAM,
            seed=seed,
            variables=variables,
            trainee_id=str(user_id),
            digest=digest,
            max_reply_chars=self.settings.max_message_chars,
            clock=self.clock,
            exam_attempt_id=attempt_id,
        )
        session.start(self.customer(scenario))
        with self.store.write() as s:
            return create_session(s, session, user_id=user_id, exam_attempt_id=attempt_id).id

    def end_timed_out(self, session_id: str) -> bool:
        """End a conversation whose time ran out (an exam part's deadline) as it stands; it is graded like any
        other. Returns True when it was still running."""
        from simulator.store.sessions import load_session, save_progress

        with self._lock_for(session_id), self.store.write() as s:
            found = load_session(s, session_id, for_update=True, max_reply_chars=self.settings.max_message_chars)
            if found is None:
                raise NotFound("no such conversation")
            row, session = found
            if session.ended:
                return False
            session.use_clock(self.clock).end(reason="timed-out", outcome=Outcome.TIMED_OUT)
            save_progress(s, row, session)
        return True

    def background(self, job: Callable[[], object]) -> None:
        """Run ``job`` on the background worker that grades conversations (one at a time, after the answer is
        sent); a failure is logged."""

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("background job failed")

        self._grading.submit(run)

    # -- process life ---------------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Load now what the first trainee would otherwise wait for, in the order they need it: the scenario
        catalogue, the embedder and act detector, the knowledge index with its tokenizer (jieba's dictionary), and
        the grader with both rule lexicons."""
        self.scenarios.refresh()
        self.detector().detect("您好，请问有什么可以帮您？")
        if self.knowledge is not None:
            self.knowledge.search("尺码怎么选 size", 1)
        for text in ("在吗，这件衣服165穿什么码？", "Hi, which size should I get?"):
            hello = Transcript(id="warm-up", turns=[Turn(role="customer", text=text), Turn(role="agent", text="您好")])
            self.grade(hello)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(key, threading.Lock())
