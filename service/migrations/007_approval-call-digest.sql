-- An approval is for one exact call: the tool name and input it was asked for, as a sha256 of canonical JSON
-- (approvals/call-digest.ts). A resumed run's PreToolUse with the same tool_use_id but another tool or input is
-- refused. NULL on requests recorded before this column existed: those compare the stored input instead.
ALTER TABLE approvals ADD COLUMN call_digest text;
