"""RESP without I/O: bytes in, commands out (:mod:`.parser`); replies in, bytes out (:mod:`.encoder`)."""
