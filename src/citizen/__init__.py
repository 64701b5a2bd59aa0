"""The citizen's back channel: the status page, the Bescheid download and e-mail notifications."""
