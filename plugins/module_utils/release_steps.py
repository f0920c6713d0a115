# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A release's steps on the server: complete it, check its app, run its commands, point the links
at it, and make it live (reload, health check, record, prune, unlock). wsgi_release and
wsgi_app_command are their documentation and arguments; each step raises StepFailed with what it
did so far, so that the caller knows what to undo."""
from __future__ import annotations

import os
import pwd
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import health, releases, server_log
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes as procs
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.host_view import check_names
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, reload_server

CHECK_SECONDS = 300


class StepFailed(Exception):
    """A step that failed: its message, and what was done before it (facts)."""

    def __init__(self, msg, **facts):
        super().__init__(msg)
        self.msg, self.facts = msg, facts


def _step(name, call, *args, **kwargs):
    """call(), its failure named after the step it failed in (failed_step): the release, the
    switch, the reload or the health check."""
    try:
        return call(*args, **kwargs)
    except StepFailed as exc:
        exc.facts.setdefault("failed_step", name)
        raise


def app_user(params, **failed):
    try:
        return pwd.getpwnam(params["app_user"]) if params["app_user"] else pwd.getpwuid(os.geteuid())
    except KeyError:
        raise StepFailed("no user %s to run the app's commands as" % params["app_user"], **failed)


def _release_env(params, **failed):
    """What the release's processes see: its own environment, its virtualenv first on PATH."""
    root, release = params["root"], params["release"] or releases.live(params["root"])["release"]
    venv = os.path.join(root, "venvs", params["venv_key"] or releases.live(root)["venv"])
    try:
        env = releases.release_env(root, release) if release else {}
    except releases.ReleaseError as exc:
        raise StepFailed("the new release's environment cannot be read: %s" % exc.msg, **failed)
    return dict(env, VIRTUAL_ENV=venv, PATH=os.path.join(venv, "bin") + ":" + env.get("PATH", "/usr/local/bin:/usr/bin:/bin"))


def _masked(lines, params):
    """Lines the module quotes (a command's output, the server's log, the app's answer) with the
    values of the new and the live release's environment (wsgi_deploy_env) put out of sight: a
    command or a traceback that prints a setting does not put a secret into Ansible's output."""
    return releases.masked(lines, params.get("root"), params.get("release"))


def run_as_app(params, argv, cwd, seconds, what, **failed):
    """Run argv as the app's user with the release's environment; fail quoting the end of its
    output, whose last line (an exception's, a command's error) says why."""
    user = app_user(params, **failed)
    env = _release_env(params, **failed)
    try:
        code, tail = procs.run_as(argv, user, cwd, seconds, env=env)
    except OSError as exc:
        raise StepFailed("%s: %s did not run: %s" % (what, " ".join(argv), exc), **failed)
    tail = _masked(tail, params)
    if code != 0:
        how = "took longer than %ds" % seconds if code is None else "exit %d" % code
        ending = (": " + tail[-1]) if tail else ""
        raise StepFailed("%s as user %s (%s): %s%s" % (what, user.pw_name, how, " ".join(argv), ending),
                         rc=code, stderr="\n".join(tail), stderr_lines=tail, **failed)
    return tail


def run_commands(params, check_mode):
    """Run commands in a release as the app's user, as its release commands ran: for a hook."""
    problem = check_names(params)
    if problem:
        raise StepFailed(problem)
    if app_user(params).pw_uid == 0 and os.geteuid() == 0:
        # The release links to what the app's user writes (its shared paths): root runs none of it.
        raise StepFailed("the app's commands run as the app's user, never as root: set app_user")
    release = params["release"] or releases.live(params["root"])["release"]
    if not release:
        raise StepFailed("no release to run the commands in: nothing is live under %s, and release is empty"
                         % params["root"])
    params = dict(params, release=release)
    if check_mode:
        return {"changed": True, "release": release, "output": []}
    cwd = os.path.join(params["root"], "releases", release)
    output = [run_as_app(params, argv, cwd, params["timeout"], "a command failed") for argv in params["commands"]]
    return {"changed": True, "release": release, "output": output}


def complete(params, check_mode, **failed):
    """Complete the synced release if asked (release_key), check its app, run its release commands,
    hand its writable directories back. Returns whether it completed (built) the release, and how
    long the app's import took (import_seconds): how long a new worker takes to load it."""
    problem = check_names(params)
    if problem:
        raise StepFailed(problem, **failed)
    built = False
    if params["release_key"]:
        if not (params["release"] and params["venv_key"]):
            raise StepFailed("a release to complete (release_key given) needs its name in release "
                             "and its virtualenv in venv_key", **failed)
        # In check mode a first deploy's app user is not made yet, and nothing is handed to it.
        user = None if check_mode else app_user(params, **failed)
        try:
            # The config the release goes live with, kept in it for a rollback by hand to it.
            config = releases.read_config(params["config_files"]) if not check_mode else None
            built = releases.build(params["root"], params["release"], params["release_key"], params["venv_key"],
                                   params["shared_paths"], check_mode, params["writable_dirs"],
                                   user and (user.pw_uid, user.pw_gid), config)
        except releases.ReleaseError as exc:
            raise StepFailed(exc.msg, **failed)
    found = {"built": built}
    if check_mode:
        return found
    if params["import_check"]:
        began = time.monotonic()
        run_as_app(params, params["import_check"], params["import_check_cwd"] or "/", CHECK_SECONDS,
                   "the new release's app failed its check", **failed)
        found["import_seconds"] = round(time.monotonic() - began, 3)
    if params["release_commands"] and params["release"]:
        cwd = os.path.join(params["root"], "releases", params["release"])
        for argv in params["release_commands"]:
            run_as_app(params, argv, cwd, params["command_timeout"], "a release command failed", **failed)
    if params["writable_dirs"] and params["release"]:
        try:
            releases.seal(params["root"], params["release"], params["writable_dirs"], app_user(params, **failed).pw_gid)
        except releases.ReleaseError as exc:
            raise StepFailed(exc.msg, **failed)
    return found


def switch(params, check_mode, **failed):
    """Point venv, then current, at the release: the links that moved."""
    try:
        return releases.switch(params["root"], params["release"], params["venv_key"], check_mode)
    except releases.ReleaseError as exc:
        raise StepFailed(exc.msg, **failed)


def restore_config(params, check_mode, **failed):
    """Put back the config files the release kept, where they differ: the paths put back."""
    try:
        return releases.restore_config(params["root"], params["release"], params["config_files"], check_mode)
    except (releases.ReleaseError, OSError) as exc:
        raise StepFailed(getattr(exc, "msg", None) or str(exc), **failed)


def go_live(params, check_mode, switched, warn):
    """Reload onto the switched release, check that the app answers, then record, prune, unlock.
    What the switch before it did (switched) is in every result, failed or not."""
    facts = dict(switched, changed=False, reloaded=False)
    if params["reload"]:
        try:
            facts = dict(switched, **reload_server(dict(params, timeout=params["reload_timeout"]), check_mode=check_mode))
        except ReloadError as exc:
            facts = dict(switched, **exc.facts)
            if facts.get("log_lines"):
                facts["log_lines"] = _masked(facts["log_lines"], params)
            raise StepFailed(_masked([exc.msg], params)[0], reloaded=False, failed_step="reload", **facts)
    if params["health_url"] and not check_mode:
        answer = facts["health"] = health.ask(params)
        if answer["problem"]:
            msg, failed = health.failure(facts, answer)
            if params["log_file"]:
                # The log's end, past the reload's lines: what the app logged as it answered (a traceback).
                failed["log_lines"] = _masked(server_log.tail(params["log_file"], 10), params)
            # What the app answered (a debug page, an error naming a setting) is quoted masked.
            content, problem = _masked([answer["content"] or "", answer["problem"] or ""], params)
            failed["health"] = dict(answer, content=content, problem=problem)
            failed["content"] = content
            raise StepFailed(_masked([msg], params)[0], failed_step="health", **failed)
    if not check_mode:
        _record(params, facts, warn)
    facts["unlocked"] = bool(params["lock_path"]) and releases.drop_lock(params["lock_path"], check_mode)
    facts["changed"] = bool(facts["changed"] or facts.get("recorded") or facts.get("removed"))
    return facts


def _record(params, facts, warn):
    """Once the app answered: the record that lets the next deploy with the same inputs stop after
    Preflight, and the prune. Either failing is only a warning: the new code is live and answers."""
    if params["dest"] and params["inputs_digest"] and not params["root"]:
        try:
            facts["recorded"] = releases.record_dest(params["dest"], params["inputs_digest"], params["exclude"])
        except (releases.ReleaseError, OSError) as exc:
            facts["recorded"] = False
            warn("the new code is live and answers, but %s" % (getattr(exc, "msg", None) or exc))
    if params["root"] and params["restore_record"] and not params["inputs_digest"]:
        # A rollback that answered: the release it went back to was live before, and so is its record.
        try:
            facts["recorded"] = releases.restore_record(params["root"])
        except (releases.ReleaseError, OSError) as exc:
            facts["recorded"] = False
            warn("the earlier release is live and answers, but %s" % (getattr(exc, "msg", None) or exc))
    if params["root"] and params["inputs_digest"]:
        facts["recorded"] = False
        try:
            facts["recorded"] = releases.record(params["root"], params["inputs_digest"], params["venv_key"],
                                                params["file_digests"], params["prepared_digest"], params["release"])
            releases.mark_went_live(params["root"], params["release"] or releases.live(params["root"])["release"])
            if params["keep_releases"] is not None:
                pruned = releases.prune(params["root"], params["keep_releases"])
                facts["removed"] = pruned["releases"] + pruned["venvs"]
        except (releases.ReleaseError, OSError) as exc:
            warn("the new code is live and answers, but %s" % (getattr(exc, "msg", None) or exc))


def release_state(params, check_mode, warn):
    """wsgi_release: the release present (complete, checked), current (and pointed at), or live."""
    state = params["state"]
    if params["keep_releases"] is not None and params["keep_releases"] < 1:
        raise StepFailed("keep_releases must be at least 1, so that the live release stays; got %d"
                         % params["keep_releases"])
    if state in ("present", "current"):
        facts = _step("release", complete, params, check_mode)
        facts["switched"] = _step("switch", switch, params, check_mode) if state == "current" else []
        facts["config_restored"] = (_step("switch", restore_config, params, check_mode)
                                    if state == "current" and params["restore_config"] else [])
        facts["changed"] = facts["built"] or bool(facts["switched"]) or bool(facts["config_restored"])
        return facts
    facts = {}
    if params["switch"]:
        # A failure before the switch reloads nothing, and says so: the caller removes the release.
        facts.update(_step("release", complete, params, check_mode, before_switch=True, switched=[]))
        facts["switched"] = _step("switch", switch, params, check_mode, before_switch=True, switched=[])
    live = go_live(params, check_mode, facts, warn)
    live["changed"] = live["changed"] or facts.get("built", False) or bool(facts.get("switched"))
    return live
