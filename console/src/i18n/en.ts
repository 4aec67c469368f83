/** English: the reference catalogue. zh-CN.ts must hold every key (the compiler checks it; tests/unit/console-i18n.test.ts too). */
export const en = {
  app: {
    name: 'Cairn console',
    skip: 'Skip to content',
    signOut: 'Sign out',
    language: 'Language',
    loading: 'Loading…',
    error: 'Something went wrong: {{message}}',
    retry: 'Try again',
    notFound: 'This page does not exist.',
    home: 'Back to the start page',
    comingTitle: '{{page}}',
    coming: 'This page is on its way: everything it will show is already in the admin API and the CLI (docs/console.md).',
  },
  nav: {
    label: 'Main',
    overview: 'Overview',
    customers: 'Customers',
    profiles: 'Profiles',
    audiences: 'Audiences',
    segments: 'Segments',
    journeys: 'Journeys',
    reports: 'Reports',
    data: 'Data',
    sources: 'Sources and keys',
    catalogue: 'Event catalogue',
    quarantine: 'Quarantine',
    health: 'Pipeline health',
    privacy: 'Privacy requests',
  },
  signIn: {
    title: 'Sign in',
    intro: 'Sign in with the admin token of this Cairn stack (locally CAIRN_ADMIN_TOKEN, dev-admin-token unless you set it).',
    token: 'Admin token',
    submit: 'Sign in',
    checking: 'Checking…',
    invalid: 'This token was refused. Check CAIRN_ADMIN_TOKEN.',
    unreachable: 'The admin API did not answer: {{message}}',
    kept: 'The token is kept in this browser tab only, until you sign out or close the tab.',
  },
  overview: {
    title: 'Overview',
    intro: 'Find a customer, build an audience, or look after the data.',
    segments: 'Segments',
    journeys: 'Journeys',
    computedTraits: 'Computed traits',
  },
} as const;

/** The shape every language follows: the same keys, any text. */
type Catalogue<T> = { -readonly [K in keyof T]: T[K] extends string ? string : Catalogue<T[K]> };
export type Messages = Catalogue<typeof en>;
