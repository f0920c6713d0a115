# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: deploy
type: stdout
short_description: Ansible's default output, without the banner of a play that shows nothing
description:
  - Ansible's default stdout callback, with two differences. A play's banner waits for the first
    thing the play shows (a task, an include); a play that shows nothing, such as the fleet plays of
    C(playbooks/deploy.yml) on a single host, or any play whose tasks are all skipped while
    C(display_skipped_hosts) is off, shows no banner either.
  - A task of M(ansible.builtin.fail) or M(ansible.builtin.assert) says its message once, in its
    C(fatal) line, where ansible-core 2.19 prints it a second time as an C([ERROR]) with the task's
    origin.
  - Set it with C(stdout_callback = graceful.wsgi_deploy.deploy) in C(ansible.cfg).
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
extends_documentation_fragment:
  - default_callback
  - result_format_callback
requirements:
  - set as stdout in configuration
"""

from ansible.plugins.callback.default import CallbackModule as DefaultCallback


# Actions whose failure is their message: the fatal line says it.
FAILING_ACTIONS = ("ansible.builtin.fail", "fail", "ansible.builtin.assert", "assert",
                   "ansible.legacy.fail", "ansible.legacy.assert")


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "graceful.wsgi_deploy.deploy"

    def __init__(self):
        super().__init__()
        self._waiting_play = None
        self._current_action = None

    def _show_play(self):
        play, self._waiting_play = self._waiting_play, None
        if play is not None:
            super().v2_playbook_on_play_start(play)

    def v2_playbook_on_play_start(self, play):
        # The play is still this callback's _play: the default callback reads it for each task.
        self._play = play
        self._waiting_play = play

    def _print_task_banner(self, task):
        self._show_play()
        super()._print_task_banner(task)

    def v2_playbook_on_include(self, included_file):
        self._show_play()
        super().v2_playbook_on_include(included_file)

    def _handle_exception(self, result, use_stderr=False):
        if self._current_action in FAILING_ACTIONS and result.get("msg"):
            result.pop("exception", None)
            return
        super()._handle_exception(result, use_stderr=use_stderr)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._current_action = result.task.action
        try:
            super().v2_runner_on_failed(result, ignore_errors=ignore_errors)
        finally:
            self._current_action = None

    def v2_playbook_on_no_hosts_matched(self):
        self._show_play()
        super().v2_playbook_on_no_hosts_matched()

    def v2_playbook_on_no_hosts_remaining(self):
        self._show_play()
        super().v2_playbook_on_no_hosts_remaining()
