/** textmagic-client 2.0.23575 ships no types; the tests drive it as plain JavaScript. */
declare module 'textmagic-client';
