// Real IMAP (a private dovecot) and SMTP (a recording sink) on loopback, for n8n's Email Trigger and mail sending.
export { startDovecot, DOVECOT_APT_LINE, type Dovecot, type MailUser } from './dovecot';
export { imapAppend, imapSearch, type ImapTarget } from './imap-client';
export { startSmtpSink, type SmtpSink, type SunkMail } from './smtp-sink';
