"""An action plugin of the collection built as the task executor builds it, with ``_execute_module`` (the plugin's
boundary with the module it runs) recorded instead of run."""

from unittest import mock


class Shell:
    tmpdir = "/nonexistent/ansible-tmp"  # set: ActionBase.run makes no remote temporary folder


class Connection:
    has_native_async = False
    _shell = Shell()


class Task:
    def __init__(self, action, args, check_mode=False, async_val=0, role=None):
        self.action = action
        self.args = dict(args)
        self.check_mode = check_mode
        self.async_val = async_val
        self.environment = []
        self._role = role


def build(cls, action, args, check_mode=False, async_val=0, returns=None):
    """The plugin of ``cls`` for a task of ``action`` with ``args``; its ``_execute_module`` answers ``returns``
    (a dict, or a function of the module name and arguments) and records each call in ``plugin.calls``."""
    plugin = cls(Task(action, args, check_mode=check_mode, async_val=async_val), Connection(), mock.MagicMock(),
                 None, None, None)
    plugin.calls = []
    plugin._load_name = action  # as the plugin loader names what it loads (ansible-core 2.16's messages read it)

    def execute_module(module_name=None, module_args=None, task_vars=None, wrap_async=False, **_ignored):
        plugin.calls.append({"module": module_name, "args": module_args, "wrap_async": wrap_async})
        answer = returns(module_name, module_args) if callable(returns) else returns
        return dict(answer or {"changed": False})

    plugin._execute_module = execute_module
    return plugin
