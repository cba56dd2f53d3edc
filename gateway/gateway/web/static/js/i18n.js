// Polish by default, English by the switch; the choice is remembered in localStorage.
// Labels are the guide's, exactly as it writes them.

const KEY = "kadra.lang";
export const LANGS = ["pl", "en"];

export function lang() {
  const saved = localStorage.getItem(KEY);
  return LANGS.includes(saved) ? saved : "pl";
}

export function setLang(value) {
  if (LANGS.includes(value)) localStorage.setItem(KEY, value);
}

// key: [Polish, English]
const T = {
  product: ["Kadra", "Kadra"],
  switch_lang: ["English", "Polski"],
  switch_lang_label: ["Switch to English", "Przełącz na polski"],
  working: ["Proszę czekać…", "Working…"],
  loading: ["Wczytywanie…", "Loading…"],
  not_found: ["Nie ma takiej strony.", "There is no such page."],
  back_home: ["Wróć na stronę główną", "Back to the home page"],
  network_error: ["Brak połączenia z serwerem. Spróbuj ponownie.", "Cannot reach the server. Try again."],
  session_ended: ["Sesja wygasła. Zaloguj się ponownie.", "Your session has ended. Log in again."],
  yes: ["tak", "yes"],
  no: ["nie", "no"],
  never: ["nigdy", "never"],
  close: ["Zamknij", "Close"],
  cancel: ["Anuluj", "Cancel"],
  save: ["Zapisz", "Save"],
  required: ["To pole jest wymagane.", "This field is required."],
  main_nav: ["Menu główne", "Main menu"],

  // the second factor (TOTP) of web logins
  second_step_title: ["Logowanie dwuetapowe", "Two-step login"],
  second_step_intro: ["Wpisz aktualny kod z aplikacji uwierzytelniającej w telefonie.", "Enter the current code from the authenticator app on your phone."],
  recovery_intro: ["Wpisz jeden z kodów zapasowych. Każdy działa tylko raz.", "Enter one of your recovery codes. Each works only once."],
  totp_code: ["Kod z aplikacji:", "Code from the app:"],
  totp_code_hint: ["6 cyfr; zmienia się co 30 sekund.", "6 digits; it changes every 30 seconds."],
  recovery_code: ["Kod zapasowy:", "Recovery code:"],
  recovery_code_or: ["albo kod zapasowy:", "or a recovery code:"],
  use_recovery_code: ["Nie mam telefonu — użyj kodu zapasowego", "I don't have my phone — use a recovery code"],
  use_totp_code: ["Użyj kodu z aplikacji", "Use a code from the app"],
  start_again: ["Zaloguj się od nowa", "Start the login again"],
  phone_approval_title: ["Potwierdź logowanie w aplikacji mobilnej", "Approve the login in the mobile app"],
  phone_approval_intro: ["Otwórz aplikację mobilną Kadra na swoim zaufanym telefonie i wpisz w niej tę liczbę:",
                         "Open the Kadra mobile app on your trusted phone and type in this number:"],
  phone_number_label: ["Liczba do wpisania w telefonie: {number}", "Number to type on the phone: {number}"],
  phone_approval_check: ["Sprawdź w telefonie adres i przeglądarkę, z których się logujesz, i potwierdź PIN-em lub biometrią. Masz na to 2 minuty.",
                         "Check on the phone the address and browser you are logging in from, and approve with your PIN or biometrics. You have 2 minutes."],
  phone_waiting: ["Czekamy na potwierdzenie w telefonie…", "Waiting for the approval on your phone…"],
  phone_denied: ["Logowanie zostało odrzucone w aplikacji mobilnej. Jeśli to nie Ty je odrzuciłeś, zmień hasło.",
                 "The login was denied in the mobile app. If you did not deny it, change your password."],
  phone_expired: ["Czas na potwierdzenie logowania w aplikacji mobilnej minął. Zaloguj się ponownie.",
                  "The time to approve the login in the mobile app has run out. Log in again."],
  phone_use_code: ["Użyj kodu z aplikacji uwierzytelniającej", "Use a code from the authenticator app"],
  phone_factor_title: ["Potwierdzanie logowania w aplikacji mobilnej", "Approving logins in the mobile app"],
  phone_factor_on: ["Włączone od {since}: logowanie w przeglądarce czeka po haśle na potwierdzenie w telefonie.",
                    "On since {since}: a web login waits for the approval on your phone after the password."],
  phone_factor_off: ["Wyłączone. Po włączeniu logowanie w przeglądarce po haśle poczeka na Twoje potwierdzenie w aplikacji mobilnej na zaufanym telefonie (wpiszesz w niej liczbę z ekranu logowania).",
                     "Off. Once on, a web login waits after the password for your approval in the mobile app on your trusted phone (you type in it the number from the login screen)."],
  phone_factor_needs_device: ["Najpierw aktywuj aplikację mobilną na telefonie (strona „Aplikacja mobilna”).",
                              "First activate the mobile app on your phone (the “Aplikacja mobilna” page)."],
  phone_factor_enable: ["Włącz potwierdzanie w aplikacji mobilnej", "Turn on approving in the mobile app"],
  phone_factor_disable: ["Wyłącz potwierdzanie w aplikacji mobilnej", "Turn off approving in the mobile app"],
  phone_factor_enabled: ["Potwierdzanie logowania w aplikacji mobilnej jest włączone.", "Approving logins in the mobile app is on."],
  phone_factor_disabled: ["Potwierdzanie logowania w aplikacji mobilnej zostało wyłączone.", "Approving logins in the mobile app has been turned off."],
  phone_factor_confirm_off: ["Potwierdź wyłączenie w aplikacji mobilnej, wpisując w niej liczbę:", "Approve turning it off in the mobile app by typing in this number:"],
  totp_code_if_on: ["Kod z aplikacji uwierzytelniającej (gdy logowanie z kodem jest włączone):", "Code from the authenticator app (when login with a code is on):"],
  second_factor_title: ["Logowanie dwuetapowe", "Two-step login"],
  second_factor_off: ["Logowanie dwuetapowe jest wyłączone.", "Two-step login is off."],
  second_factor_on: ["Logowanie dwuetapowe jest włączone od {since}. Pozostałe kody zapasowe: {left}.",
                     "Two-step login is on since {since}. Recovery codes left: {left}."],
  second_factor_explain: ["Po włączeniu logowanie w przeglądarce poprosi po haśle o kod z aplikacji uwierzytelniającej (np. Google Authenticator, Microsoft Authenticator, FreeOTP).",
                          "Once on, logging in on the web asks for a code from an authenticator app (e.g. Google Authenticator, Microsoft Authenticator, FreeOTP) after your password."],
  second_factor_start: ["Włącz logowanie dwuetapowe", "Turn on two-step login"],
  totp_step_app: ["Zainstaluj w telefonie aplikację uwierzytelniającą.", "Install an authenticator app on your phone."],
  totp_step_scan: ["Zeskanuj w niej ten kod QR:", "Scan this QR code with it:"],
  totp_qr_alt: ["Kod QR do aplikacji uwierzytelniającej", "QR code for the authenticator app"],
  totp_manual: ["Nie możesz zeskanować? Wpisz ręcznie klucz:", "Cannot scan it? Type in this key:"],
  totp_step_code: ["Wpisz poniżej kod, który pokazuje aplikacja.", "Enter below the code the app shows."],
  second_factor_confirm: ["Potwierdź i włącz", "Confirm and turn on"],
  recovery_codes_once: ["Logowanie dwuetapowe jest włączone. Zapisz te kody zapasowe w bezpiecznym miejscu: widzisz je tylko teraz, każdy działa raz, gdy nie masz telefonu.",
                        "Two-step login is on. Save these recovery codes in a safe place: you see them only now, and each works once when you don't have your phone."],
  recovery_codes_saved: ["Zapisałem kody", "I have saved the codes"],
  second_factor_enabled: ["Logowanie dwuetapowe jest włączone.", "Two-step login is on."],
  second_factor_disable: ["Wyłącz logowanie dwuetapowe", "Turn off two-step login"],
  second_factor_disabled: ["Logowanie dwuetapowe zostało wyłączone.", "Two-step login has been turned off."],

  // log in, sign up, passwords
  login_title: ["Zaloguj", "Log in"],
  login_button: ["Zaloguj", "Log in"],
  email: ["Adres e-mail:", "E-mail address:"],
  password: ["Hasło:", "Password:"],
  forgot_link: ["przypomnij hasło", "remind password"],
  signup_link: ["Załóż konto", "Create an account"],
  no_account: ["Nie masz konta?", "No account yet?"],
  have_account: ["Masz już konto?", "Already have an account?"],
  signup_title: ["Załóż konto", "Create an account"],
  signup_button: ["Załóż konto", "Create the account"],
  full_name: ["Imię i nazwisko:", "Full name:"],
  company_name: ["Nazwa firmy:", "Company name:"],
  password_hint: ["Co najmniej 12 znaków; najlepiej kilka niezwiązanych ze sobą słów. Popularne hasła, układy klawiszy, daty i Twoje dane są odrzucane.",
                  "At least 12 characters; a few unrelated words work well. Common passwords, keyboard patterns, dates and your own details are refused."],
  signup_sent: ["Sprawdź pocztę: wysłaliśmy wiadomość na adres {email}. Aby założyć konto, otwórz link potwierdzający z tej wiadomości (ważny 24 godziny).",
                "Check your e-mail: we have sent a message to {email}. To create the account, open the confirmation link in it (valid 24 hours)."],
  signup_sent_hint: ["Nie widzisz wiadomości? Zajrzyj do folderu ze spamem. Jeśli masz już konto z tym adresem, napisaliśmy, jak się zalogować.",
                     "No message? Look in the spam folder. If you already have an account with this address, we wrote how to log in."],
  forgot_title: ["Przypomnij hasło", "Remind password"],
  forgot_intro: ["Podaj adres e-mail, którym logujesz się do aplikacji. Wyślemy na niego link do ustawienia nowego hasła.",
                 "Give the e-mail address you log in with. We will send a link to set a new password to it."],
  forgot_button: ["Wyślij link", "Send the link"],
  forgot_sent: ["Jeśli ten adres ma konto, wysłaliśmy na niego e-mail z linkiem do ustawienia nowego hasła. Link jest ważny przez ograniczony czas.",
                "If this address has an account, we have sent it an e-mail with a link to set a new password. The link is valid for a limited time."],
  reset_title: ["Ustaw nowe hasło", "Set a new password"],
  new_password: ["Nowe hasło:", "New password:"],
  repeat_password: ["Powtórz nowe hasło:", "Repeat the new password:"],
  passwords_differ: ["Hasła się różnią.", "The passwords differ."],
  reset_button: ["Ustaw hasło", "Set the password"],
  reset_done: ["Hasło zostało zmienione. Możesz się zalogować. Dla bezpieczeństwa zaufane urządzenie zostało usunięte — aktywuj aplikację mobilną ponownie, już z nowym hasłem.",
               "Your password has been changed. You can log in now. For your safety the trusted device was removed — activate the mobile app again with the new password."],
  no_token: ["Ten link jest niepełny. Otwórz link z e-maila jeszcze raz.", "This link is incomplete. Open the link from the e-mail again."],
  go_login: ["Przejdź do logowania", "Go to log in"],

  // e-mail links
  confirm_account_title: ["Potwierdź założenie konta", "Confirm your new account"],
  confirm_account_intro: ["Po potwierdzeniu założymy Twoje konto i firmę, której będziesz właścicielem. Zalogujesz się adresem e-mail i hasłem podanym przy rejestracji.",
                          "Once you confirm, we create your account and the company you own. You log in with the e-mail address and password you gave when signing up."],
  confirm_account_button: ["Potwierdź i załóż konto", "Confirm and create the account"],
  confirm_account_done: ["Konto założone. Możesz się zalogować.", "Your account is ready. You can log in now."],
  invite_title: ["Zaproszenie do firmy", "Invitation to a company"],
  invite_intro: ["Ustaw hasło, aby przyjąć zaproszenie. Jeśli masz już konto w aplikacji, podaj swoje obecne hasło (imię i nazwisko nie jest wtedy potrzebne).",
                 "Set a password to accept the invitation. If you already have an account, give your current password (no full name needed then)."],
  invite_logged_in: ["Jesteś zalogowany(-a) jako {email}. Przyjmij zaproszenie do firmy.", "You are logged in as {email}. Accept the invitation to the company."],
  invite_button: ["Przyjmij zaproszenie", "Accept the invitation"],
  invite_done: ["Zaproszenie przyjęte. Zaloguj się, aby zobaczyć firmę.", "Invitation accepted. Log in to see the company."],
  invite_done_logged: ["Zaproszenie przyjęte.", "Invitation accepted."],
  confirm_email_title: ["Potwierdź nowy adres e-mail", "Confirm your new e-mail address"],
  confirm_email_intro: ["Po potwierdzeniu nowy adres stanie się Twoim loginem.", "Once confirmed, the new address becomes your login."],
  confirm_email_button: ["Potwierdź zmianę adresu", "Confirm the change"],
  confirm_email_done: ["Adres e-mail został zmieniony. Loguj się nowym adresem.", "Your e-mail address has been changed. Log in with the new address."],
  revert_email_title: ["To nie ja — cofnij zmianę adresu e-mail", "This wasn't me — undo the e-mail change"],
  revert_email_intro: ["Cofnięcie przywróci poprzedni adres e-mail, zakończy wszystkie sesje i usunie zaufane urządzenie. Następnie ustaw nowe hasło.",
                       "Undoing restores the previous e-mail address, ends every session and removes the trusted device. Then set a new password."],
  revert_email_button: ["Cofnij zmianę", "Undo the change"],
  revert_email_done: ["Zmiana adresu została cofnięta. Ustaw nowe hasło, korzystając z opcji „przypomnij hasło”.",
                      "The change has been undone. Set a new password with \u201cremind password\u201d."],
  ownership_title: ["Przejęcie własności firmy", "Accepting ownership of the company"],
  ownership_intro: ["Po przyjęciu zostaniesz właścicielem firmy, a dotychczasowy właściciel otrzyma rolę: zarząd / pełnomocnik / księgowy.",
                    "Once you accept, you become the company's owner and the former owner gets the role: management / proxy / accountant."],
  ownership_button: ["Przyjmij własność firmy", "Accept ownership"],
  ownership_done: ["Jesteś teraz właścicielem firmy.", "You are now the company's owner."],
  ownership_login: ["Zaloguj się, aby przyjąć własność firmy.", "Log in to accept ownership of the company."],

  // layout
  company: ["Firma:", "Company:"],
  company_menu: ["Menu firmy", "Company menu"],
  settings: ["Dane i ustawienia", "Data and settings"],
  mobile: ["Aplikacja mobilna", "Mobile app"],
  account: ["Moje konto", "My account"],
  audit: ["Dziennik zdarzeń", "Audit log"],
  logout: ["Wyloguj", "Log out"],
  home_title: ["Witaj, {name}", "Welcome, {name}"],
  home_company: ["Firma: {company}. Twoja rola: {role}.", "Company: {company}. Your role: {role}."],
  no_company: ["Nie należysz jeszcze do żadnej firmy.", "You do not belong to any company yet."],

  // settings: company data
  company_section: ["Nazwa, dane rejestrowe i kontaktowe", "Name, registration and contact data"],
  c_name: ["Nazwa firmy:", "Company name:"],
  c_nip: ["NIP:", "NIP (tax id):"],
  c_regon: ["REGON:", "REGON:"],
  c_street: ["Ulica i numer:", "Street and number:"],
  c_postal: ["Kod pocztowy:", "Postal code:"],
  c_city: ["Miejscowość:", "City:"],
  c_email: ["E-mail kontaktowy:", "Contact e-mail:"],
  c_phone: ["Telefon kontaktowy:", "Contact phone:"],
  c_readonly: ["Twoja rola pozwala tylko przeglądać te dane.", "Your role may only view these data."],
  c_saved: ["Dane firmy zapisane.", "The company's data are saved."],
  nip_ok: ["NIP poprawny.", "The NIP is valid."],
  nip_chars: ["NIP może zawierać tylko cyfry, spacje i myślniki.", "A NIP may contain only digits, spaces and dashes."],
  nip_length: ["NIP ma 10 cyfr.", "A NIP has 10 digits."],
  nip_checksum: ["Nieprawidłowy NIP (błędna suma kontrolna).", "Invalid NIP (checksum mismatch)."],
  address_incomplete: ["Podaj ulicę, kod pocztowy i miejscowość albo zostaw wszystkie puste.", "Give street, postal code and city, or leave all three empty."],
  postal_format: ["Kod pocztowy w formacie 00-000.", "Postal code as 00-000."],

  // settings: users
  users_section: ["Użytkownicy", "Users"],
  users_heading: ["Użytkownicy z dostępem do systemu", "Users with access to the system"],
  add_user: ["Dodaj użytkownika", "Add user"],
  add_user_title: ["Dodawanie użytkownika do firmy – {company}", "Adding a user to the company – {company}"],
  add_email: ["Adres e-mail:", "E-mail address:"],
  role: ["Rola:", "Role:"],
  show_role: ["Pokaż opis roli", "Show role description"],
  hide_role: ["Ukryj opis roli", "Hide role description"],
  col_no: ["Lp.", "No."],
  col_name: ["Imię i nazwisko", "Full name"],
  col_email: ["E-mail", "E-mail"],
  col_role: ["Rola", "Role"],
  col_options: ["Opcje", "Options"],
  you: ["(Ty)", "(you)"],
  change_role: ["Zmień rolę", "Change role"],
  change_role_title: ["Zmiana roli – {name}", "Changing the role – {name}"],
  remove_user: ["Usuń", "Remove"],
  remove_user_title: ["Usuwanie użytkownika – {name}", "Removing a user – {name}"],
  remove_user_text: ["{name} ({email}) straci dostęp do firmy {company}.", "{name} ({email}) will lose access to {company}."],
  remove_confirm: ["Usuń użytkownika", "Remove the user"],
  change_email_option: ["Zmień e-mail (login)", "Change e-mail address (login)"],
  transfer: ["Przekaż własność", "Transfer ownership"],
  transfer_title: ["Przekazanie własności firmy – {name}", "Transferring ownership of the company – {name}"],
  transfer_text: ["{name} otrzyma e-mail z linkiem. Po przyjęciu zostanie właścicielem, a Ty otrzymasz rolę: zarząd / pełnomocnik / księgowy.",
                  "{name} gets an e-mail with a link. Once accepted, they become the owner and you get the role: management / proxy / accountant."],
  transfer_confirm: ["Wyślij propozycję", "Send the offer"],
  transfer_sent: ["Propozycja przekazania własności wysłana do {name}.", "The ownership offer has been sent to {name}."],
  invited_sent: ["Zaproszenie wysłane na adres {email}.", "The invitation has been sent to {email}."],
  role_changed: ["Rola zmieniona: {name} – {role}.", "Role changed: {name} – {role}."],
  user_removed: ["Użytkownik usunięty: {name}.", "User removed: {name}."],
  pending_heading: ["Oczekujące zaproszenia", "Pending invitations"],
  no_pending: ["Brak oczekujących zaproszeń.", "No pending invitations."],
  col_expires: ["Ważne do", "Valid until"],
  col_delivery: ["Wysyłka e-maila", "E-mail delivery"],
  resend: ["Wyślij ponownie", "Resend"],
  revoke: ["Wycofaj", "Revoke"],
  revoke_title: ["Wycofanie zaproszenia – {email}", "Revoking the invitation – {email}"],
  revoke_text: ["Link z zaproszenia przestanie działać.", "The invitation link will stop working."],
  resent: ["Zaproszenie wysłane ponownie na adres {email}.", "The invitation has been sent again to {email}."],
  revoked: ["Zaproszenie wycofane: {email}.", "Invitation revoked: {email}."],
  expired: ["wygasło", "expired"],
  delivery_queued: ["w kolejce", "queued"],
  delivery_sent: ["wysłany", "sent"],
  delivery_retrying: ["ponawianie", "retrying"],
  delivery_failed: ["nieudana", "failed"],
  delivery_unknown: ["nieznany", "unknown"],
  // the guide, under the table: read the role descriptions before choosing
  users_roles_hint: ["Wykorzystując opcję dodaj użytkownika możesz nadać uprawnienia do aplikacji poszczególnym użytkownikom. Zapoznaj się z opisem ról tak, aby użytkownicy mieli dostęp tylko do tych funkcji, które odpowiadają ich roli w Twojej firmie.",
                     "With “Add user” you grant individual users access to the application. Read the role descriptions (“Show role description”) so that users can reach only the functions that match their role in your company."],
  users_roles_hint_short: ["Zapoznaj się z opisem ról tak, aby użytkownicy mieli dostęp tylko do tych funkcji, które odpowiadają ich roli w Twojej firmie.",
                           "Read the role descriptions so that users can reach only the functions that match their role in your company."],
  users_remember: ["PAMIĘTAJ! W każdej chwili możesz zmienić rolę dla poszczególnych użytkowników. To Ty odpowiadasz za to kto i na jakich zasadach ma dostęp do aplikacji, a jednocześnie do danych firmy.",
                   "REMEMBER! You can change any user's role at any time. You are responsible for who has access to the application, and so to the company's data, and on what terms."],

  // my account
  account_profile: ["Dane osobowe", "Personal data"],
  language: ["Język:", "Language:"],
  lang_pl: ["polski", "Polish"],
  lang_en: ["angielski", "English"],
  profile_saved: ["Dane zapisane.", "Saved."],
  account_email: ["Zmiana adresu e-mail (loginu)", "Change your e-mail address (login)"],
  current_email: ["Obecny adres e-mail: {email}", "Current e-mail address: {email}"],
  new_email: ["Nowy adres e-mail:", "New e-mail address:"],
  confirm_with_password: ["Hasło (dla potwierdzenia):", "Password (to confirm):"],
  email_change_button: ["Zmień adres e-mail", "Change e-mail address"],
  email_change_sent: ["Wysłaliśmy link potwierdzający na adres {email}. Zmiana nastąpi po jego kliknięciu.",
                      "We have sent a confirmation link to {email}. The change takes effect once you open it."],
  account_password: ["Zmiana hasła", "Change your password"],
  current_password: ["Obecne hasło:", "Current password:"],
  password_change_button: ["Zmień hasło", "Change password"],
  password_changed: ["Hasło zmienione. Inne sesje zostały zakończone.", "Password changed. Your other sessions have ended."],

  // mobile
  mobile_intro: ["Aplikacja mobilna pozwala na proste i wygodne wystawianie faktur na telefonie lub tablecie.",
                 "The mobile app lets you issue invoices on a phone or tablet simply and conveniently."],
  mobile_use: ["Aby skorzystać z funkcjonalności:", "To use it:"],
  mobile_step1: ["Pobierz aplikację mobilną na swój telefon z Google Play lub App Store.", "Download the mobile app to your phone from Google Play or the App Store."],
  mobile_step2: ["Uruchom ją, wybierz Logowanie, a następnie Fakturowanie.", "Start it, choose Logowanie (Login), then Fakturowanie (Invoicing)."],
  mobile_step3: ["Kliknij Aktywuj aplikację i podaj e-mail i hasło, za pomocą których logujesz się do aplikacji.",
                 "Tap Aktywuj aplikację (Activate the app) and give the e-mail and password you log in with."],
  mobile_step4: ["Ustaw PIN – będzie potrzebny do kolejnych logowań – i zdecyduj, czy chcesz korzystać z szybkiego logowania biometrycznego (np. za pomocą odcisku palca).",
                 "Set a PIN – it is needed for later logins – and decide whether to use quick biometric login (e.g. a fingerprint)."],
  mobile_done: ["To wszystko! Gratulujemy!", "That's all! Congratulations!"],
  mobile_change: ["W każdej chwili możesz zmienić zaufane urządzenie lub je usunąć.", "You can change the trusted device, or remove it, at any time."],
  mobile_note: ["Uwaga – możesz dodać maksymalnie jedno urządzenie mobilne połączone z Twoim kontem.",
                "Note: at most one mobile device can be linked to your account."],
  mobile_stores: ["Pobierz aplikację", "Download the app"],
  store_play: ["Pobierz aplikację z Google Play", "Download the app from Google Play"],
  store_apple: ["Pobierz aplikację z App Store", "Download the app from the App Store"],
  mobile_replace: ["Aby zmienić urządzenie, aktywuj aplikację na nowym telefonie i potwierdź zastąpienie: nowe urządzenie zastąpi dotychczasowe, które zostanie od razu wylogowane. Urządzenie możesz też w każdej chwili usunąć poniżej.",
                   "To change the device, activate the app on the new phone and confirm the replacement: the new device replaces the current one, which is logged out at once. You can also remove the device below at any time."],
  mobile_forgot_title: ["Uwaga!", "Note:"],
  mobile_forgot_email: ["Jeśli nie pamiętasz adresu e-mail, którym logujesz się w aplikacji: znajdziesz go w",
                        "If you don't remember the e-mail address you log in to the app with: it is shown under"],
  mobile_forgot_email_place: ["Dane i ustawienia → Użytkownicy", "Data and settings → Users"],
  mobile_forgot_email_yours: ["Twój adres e-mail (login) to {email}.", "Your e-mail address (login) is {email}."],
  mobile_forgot: ["Jeśli nie pamiętasz hasła, skorzystaj z opcji", "If you don't remember your password, use"],
  trusted: ["Zaufane urządzenia", "Trusted devices"],
  no_device: ["Brak zaufanego urządzenia.", "No trusted device."],
  d_name: ["Nazwa", "Name"],
  d_platform: ["Platforma", "Platform"],
  d_activated: ["Aktywowano", "Activated"],
  d_last_used: ["Ostatnio używane", "Last used"],
  d_biometrics: ["Logowanie biometryczne", "Biometric login"],
  d_blocked: ["Zablokowane", "Blocked"],
  d_remove: ["Usuń urządzenie", "Remove the device"],
  d_remove_title: ["Usuwanie zaufanego urządzenia – {name}", "Removing the trusted device – {name}"],
  d_remove_text: ["Urządzenie zostanie wylogowane od razu. Aby znów z niego korzystać, aktywuj aplikację ponownie.",
                  "The device is logged out at once. To use it again, activate the app again."],
  d_removed: ["Urządzenie usunięte.", "The device has been removed."],
  d_unblock: ["Odblokuj", "Unblock"],
  d_unblock_title: ["Odblokowanie urządzenia – {name}", "Unblocking the device – {name}"],
  d_unblock_text: ["Urządzenie zostało zablokowane po 5 błędnych PIN-ach. Podaj swoje hasło, aby je odblokować: PIN pozostaje ten sam, a licznik błędnych prób zaczyna się od zera. Jeśli to nie Ty wpisywałeś(-aś) PIN, nie odblokowuj go – usuń urządzenie.",
                   "The device was blocked after 5 wrong PINs. Give your password to unblock it: the PIN stays the same and the count of wrong attempts starts again from zero. If it wasn't you who typed the PINs, don't unblock it – remove the device."],
  d_unblocked: ["Urządzenie odblokowane.", "The device has been unblocked."],

  // audit
  audit_empty: ["Brak zdarzeń.", "No events."],
  a_when: ["Kiedy", "When"],
  a_action: ["Zdarzenie", "Event"],
  a_actor: ["Kto", "By"],
  a_subject: ["Dotyczy", "Concerns"],
  a_details: ["Szczegóły", "Details"],
  prev: ["Poprzednia", "Previous"],
  next: ["Następna", "Next"],
  page_of: ["Strona {page} z {pages}", "Page {page} of {pages}"],
  no_access: ["Twoja rola nie daje dostępu do tej części.", "Your role gives no access to this part."],
  // the company policy: a second factor for every member
  col_second_factor: ["Logowanie dwuetapowe", "Two-step login"],
  second_factor_yes: ["włączone", "on"],
  second_factor_no: ["wyłączone", "off"],
  policy_title: ["Logowanie dwuetapowe w firmie", "Two-step login in the company"],
  policy_label: ["Wymagaj logowania dwuetapowego od wszystkich użytkowników firmy",
                 "Require two-step login of every user of the company"],
  policy_hint: ["Użytkownik bez logowania dwuetapowego przy następnym logowaniu zostanie poproszony o jego włączenie, zanim wejdzie do firmy. Najpierw włącz je na swoim koncie (Moje konto).",
                "A user without two-step login is asked to turn it on at their next login, before entering the company. Turn it on for your own account first (My account)."],
  policy_on: ["Firma wymaga logowania dwuetapowego od wszystkich użytkowników.", "The company requires two-step login of every user."],
  policy_off: ["Firma nie wymaga logowania dwuetapowego.", "The company does not require two-step login."],
  policy_saved_on: ["Zapisano: firma wymaga logowania dwuetapowego. Użytkownicy bez niego dostali wiadomość e-mail.",
                    "Saved: the company requires two-step login. Users without it have been sent an e-mail."],
  policy_saved_off: ["Zapisano: firma nie wymaga logowania dwuetapowego.", "Saved: the company does not require two-step login."],
  policy_required_here: ["Firma {company} wymaga logowania dwuetapowego. Włącz je poniżej, aby wejść do firmy.",
                         "{company} requires two-step login. Turn it on below to enter the company."],
  policy_met: ["Logowanie dwuetapowe jest włączone: możesz już wejść do firmy {company}.",
               "Two-step login is on: you can now enter {company}."],
  policy_continue: ["Przejdź do firmy {company}", "Go to {company}"],
};

const ACTIONS = {
  company_created: ["utworzenie firmy", "company created"],
  company_updated: ["zmiana danych firmy", "company data changed"],
  member_invited: ["zaproszenie użytkownika", "user invited"],
  invitation_resent: ["ponowne wysłanie zaproszenia", "invitation resent"],
  invitation_revoked: ["wycofanie zaproszenia", "invitation revoked"],
  member_joined: ["dołączenie do firmy", "joined the company"],
  role_changed: ["zmiana roli", "role changed"],
  member_removed: ["usunięcie użytkownika", "user removed"],
  ownership_transfer_requested: ["propozycja przekazania własności", "ownership transfer offered"],
  ownership_transferred: ["przekazanie własności", "ownership transferred"],
  device_paired: ["aktywacja urządzenia mobilnego", "mobile device activated"],
  device_removed: ["usunięcie urządzenia mobilnego", "mobile device removed"],
  device_blocked: ["zablokowanie urządzenia mobilnego", "mobile device blocked"],
  device_unblocked: ["odblokowanie urządzenia mobilnego", "mobile device unblocked"],
  email_changed: ["zmiana adresu e-mail", "e-mail address changed"],
  email_change_reverted: ["cofnięcie zmiany adresu e-mail", "e-mail change undone"],
  login_locked_out: ["blokada logowania", "login locked out"],
  password_changed: ["zmiana hasła", "password changed"],
  second_factor_changed: ["zmiana logowania dwuetapowego", "two-step login changed"],
  second_factor_policy_changed: ["zmiana wymogu logowania dwuetapowego w firmie", "company two-step login requirement changed"],
};

export function t(key, vars = {}) {
  const pair = T[key];
  let text = pair ? pair[lang() === "en" ? 1 : 0] : key;
  for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value ?? ""));
  return text;
}

export function actionLabel(action) {
  const pair = ACTIONS[action];
  return pair ? pair[lang() === "en" ? 1 : 0] : action.replace(/_/g, " ");
}

// A role's label or description in the page's language, from GET /api/v1/roles.
export function roleLabel(roles, role) {
  const found = (roles || []).find((r) => r.role === role);
  if (!found) return role;
  return lang() === "en" ? found.label_en : found.label_pl;
}

export function roleDescription(roles, role) {
  const found = (roles || []).find((r) => r.role === role);
  if (!found) return "";
  return lang() === "en" ? found.description_en : found.description_pl;
}

// problem+json: the detail and each field message in the page's language.
export function problemText(problem) {
  if (!problem) return "";
  if (lang() === "en") return problem.detail || problem.title || "";
  return problem.detail_pl || problem.title_pl || problem.detail || "";
}

export function fieldText(error) {
  return lang() === "en" ? error.message : (error.message_pl || error.message);
}

export function formatDate(iso) {
  if (!iso) return t("never");
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  return d.toLocaleString(lang() === "en" ? "en-GB" : "pl-PL", {dateStyle: "medium", timeStyle: "short"});
}
