"""The broker of `make run` when there is no Redis: kombu's filesystem transport, made safe.

kombu writes a message straight into the queue folder, so a worker listing the folder can read
a file that is still being written and die on half a message (JSONDecodeError, "Unrecoverable
error"). Here each message is written whole under a name no reader picks up, then renamed into
place, which is atomic on one filesystem: a reader sees the whole message or none of it."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # No dot before the queue's name: the readers' filter ("<queue>.msg") never matches it.
        partial = os.path.join(self.data_folder_out, f"writing-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
                file.flush()
                os.fsync(file.fileno())
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
