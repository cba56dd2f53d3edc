"""Generate identity/data/: the common-password list and the Polish word list the password policy uses.

    .venv/bin/python services/identity/scripts/make_common_passwords.py      # needs zxcvbn==4.5.0 (installed with identity)

Two files, both reproducible from this script alone (same input, same output; nothing is downloaded):

- `common-passwords.txt` — refused exactly (compared lower-cased, Polish letters folded: "Hasło" = "haslo"):
  the 3,000 most common passwords of zxcvbn's list, every entry of 12+ characters of it, and the Polish
  password words below with the endings people add to pass a length rule ("haslo1234567", "kochamcie2024")
  where that makes 12+ characters (shorter ones are refused by the length rule anyway). Names, surnames and
  other words with endings are left to the estimator, which finds them through polish.txt.
- `polish.txt` — a ranked word list given to zxcvbn as one more dictionary, so a Polish word inside a longer
  password counts as a word, not as random letters ("Dobre-Haslo-2025!" is two common words and a year).

Sources:
- zxcvbn 4.5.0 (PyPI, MIT licence), `zxcvbn.frequency_lists.FREQUENCY_LISTS["passwords"]`: 30,000 passwords
  ranked by frequency (Xato's corpus). zxcvbn itself also ships English words, names and surnames.
- NordPass, "Top 200 most common passwords", Poland, 2025 edition (the top 20 as published in the Polish
  press: wirtualnemedia.pl, spidersweb.pl 2025-11, tvn24.pl 2025-12): admin, 123456, zaq1@WSX, 12345678,
  zaq12wsx, Mandarynki4, 123456789, lol12345, Qweqwe123!, password, wegiel13, 12345, Kocham12, Polska123,
  wieslaw, Qweqwe123, haslo123, 1234567890, Pojebana1, qwerty123 — and the 2024 edition's qwerty1.
- Given names and surnames: the most frequent ones of the PESEL register's lists on dane.gov.pl ("Lista imion
  występujących w rejestrze PESEL", "Nazwiska występujące w rejestrze PESEL"; the top surnames Nowak,
  Kowalski, Wiśniewski, Wójcik, Kowalczyk as reported by tvn24bis.pl 2019 and benchmark.pl 2024), with the
  diminutives people use; written down here, not downloaded (the lists are large and change yearly).
- The rest is written down here for Kadra: the words Polish passwords are made of (hasło, kocham, polska,
  football clubs, cities, months, pets, family, swear words, keyboard habits such as zaq12wsx and 1qaz2wsx).

Order matters in polish.txt (a word's rank is the number of guesses zxcvbn gives it): the press lists first,
then the password words, names, surnames and the rest.
"""
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "identity", "data")
ZXCVBN = "4.5.0"
TOP = 3000
LONG = 12       # the policy's minimum length: shorter entries can never be a password anyway
MAX = 64

# NordPass, Poland, 2025 (top 20, in order) and 2024 (qwerty1).
NORDPASS_PL = """
admin 123456 zaq1@wsx 12345678 zaq12wsx mandarynki4 123456789 lol12345 qweqwe123! password wegiel13 12345
kocham12 polska123 wieslaw qweqwe123 haslo123 1234567890 pojebana1 qwerty123 qwerty1
"""

# What Polish passwords are made of (written down for Kadra), roughly most common first.
PASSWORD_WORDS = """
hasło hasełko haslo1 mojehasło tajnehasło nowehasło silnehasło dobrehasło trudnehasło zmienhasło hasłomasło
polska polska1 polak polka polacy ojczyzna kocham kochamcię kochamcie kochamje kochamgo kochamty kochanie
kochana kochany kochamy miłość miłośćmojażycia skarb skarbie skarbek słonko słoneczko misiek misiu misia
misiaczek miś kotek kotku koteczek kicia kiciuś myszka myszko żabka żabcia laleczka aniołek aniołku maleństwo
księżniczka królewna królowa król książę serce serduszko zaq12wsx zaq1@wsx 1qaz2wsx 1qaz@wsx qazwsx qazwsxedc
qwertyuiop qwerty qweqwe qweasd qweasdzxc asdfghjkl asdasd zxcvbnm 1q2w3e4r 1q2w3e4r5t q1w2e3r4 qwe123 qaz123
zaq123 zaq1 xsw2 cde3 12qwaszx 123qwe 123qweasd abc123 dupa dupa1 dupa123 dupadupa dupka cipa cipka chuj kurwa
kurwa1 kurwamać jebać jebacpis pojebana pojebany spierdalaj zajebiste zajebisty debil idiota frajer głupek
niewiem nie wiem niemam nic nicnie tajne tajemnica sekret prywatne dostęp zaloguj logowanie login użytkownik
administrator adminadmin test testowe testtest start witaj witam cześć hej siema siemka elo nara dobranoc
dzieńdobry dobry dobre dobra super ekstra fajny fajne spoko luz luzik mandarynka mandarynki węgiel lol lolek
bolek lolekbolek reksio smerf pszczółka maja kubuś puchatek myszkamiki pokemon pikachu minecraft fortnite
tibia metin metin2 wiedźmin geralt ciri yennefer jaskier gothic legia legiawarszawa legiapany lech lechpoznań
kolejorz wisła wisłakraków widzew widzewłódź cracovia śląsk śląskwrocław górnik górnikzabrze ruch ruchchorzów
pogoń pogońszczecin jagiellonia lechia lechiagdańsk arka arkagdynia zagłębie korona piast rakow raków motor
polonia barcelona realmadryt fcbarcelona manchester liverpool chelsea arsenal juventus bayern lewandowski
robertlewandowski lewy małysz adammałysz kubica stoch świątek igaświątek szczęsny błaszczykowski piszczek
chopin kopernik mickiewicz sienkiewicz kościuszko piłsudski wałęsa solidarność papież janpaweł janpawełii jp2
jezus jezusek maryja matkaboska bóg bozia anioł aniołstróż amen alleluja biblia kościół niebo piekło szatan
diabeł
"""

FEMALE_NAMES = """
anna maria katarzyna małgorzata agnieszka barbara krystyna ewa elżbieta zofia teresa magdalena joanna janina
monika danuta jadwiga aleksandra natalia irena halina karolina marta beata dorota jolanta iwona justyna grażyna
paulina helena urszula julia bożena stanisława alicja renata zuzanna kamila wiktoria agata ewelina hanna lena
maja oliwia patrycja sylwia izabela weronika emilia dominika martyna gabriela kinga klaudia amelia wanda
genowefa marianna aneta edyta wioletta jagoda julka zuzia zosia kasia basia gosia małgosia asia ania ola
olka magda madzia ewka ewunia marysia jadzia hania lenka majka amelka oliwka natalka karolinka martynka
agusia aga kamilka wiki wika emilka ula ulka iza izka gabrysia dominisia kinia klaudyna sylwka paula patka
beatka dorotka iwonka jola grażynka bożenka krysia halinka ireneczka tereska danusia wandzia stasia helenka
"""

MALE_NAMES = """
piotr krzysztof andrzej tomasz jan paweł michał marcin stanisław jakub adam marek łukasz grzegorz mateusz
wojciech mariusz dariusz zbigniew jerzy maciej rafał kamil józef robert kacper szymon dawid ryszard bartosz
tadeusz jacek sławomir janusz filip damian kazimierz przemysław patryk mirosław sebastian daniel roman henryk
wiesław artur adrian zdzisław jarosław konrad leszek karol władysław antoni franciszek wiktor igor hubert
oskar mikołaj aleksander bartłomiej dominik norbert waldemar edward zenon bogdan czesław eugeniusz lech
bolesław mieczysław wacław zygmunt arkadiusz krystian miłosz nikodem tymon tymoteusz stefan ignacy leon
kuba kubuś tomek tomcio bartek piotrek piotruś krzysiek krzyś maciek wojtek wojtuś michałek marcinek łukaszek
mati mateuszek adaś adamek staś stasiu jaś jasiu jasio grzesiek grześ darek mariuszek zbyszek zbysiu jurek
rafałek kamilek józek józio robercik kacperek szymek szymuś dawidek rysiek rysio bartuś tadek tadzio jacuś
sławek janek januszek filipek damianek kazik przemek patryczek mirek sebek sebastianek danielek romek heniek
wiesiek arturek adi jarek konradek leszku karolek władek antek antoś franek franio wiktorek igorek hubercik
oskarek mikołajek olek oluś dominiczek norbi waldek edek zenek bogdanek czesiek gienek bolek mietek wacek
zyga arek krystek miłoszek nikoś tymek stefek ignaś leoś
"""

SURNAMES = """
nowak kowalski kowalska wiśniewski wiśniewska wójcik kowalczyk kamiński kamińska lewandowski lewandowska
zieliński zielińska szymański szymańska woźniak dąbrowski dąbrowska kozłowski kozłowska jankowski jankowska
mazur wojciechowski wojciechowska kwiatkowski kwiatkowska krawczyk kaczmarek piotrowski piotrowska
grabowski grabowska zając pawłowski pawłowska michalski michalska król wieczorek jabłoński jabłońska wróbel
nowakowski nowakowska majewski majewska olszewski olszewska stępień malinowski malinowska jaworski jaworska
adamczyk dudek nowicki nowicka pawlak górski górska witkowski witkowska walczak sikora baran rutkowski
rutkowska michalak szewczyk ostrowski ostrowska tomaszewski tomaszewska pietrzak zalewski zalewska wróblewski
wróblewska jasiński jasińska marciniak bąk zawadzki zawadzka sadowski sadowska jakubowski jakubowska duda
wilk włodarczyk chmielewski chmielewska borkowski borkowska sokołowski sokołowska szczepański szczepańska
sawicki sawicka lis kucharski kucharska kalinowski kalinowska mazurek wysocki wysocka kubiak kołodziej
"""

PLACES_AND_THINGS = """
warszawa kraków łódź wrocław poznań gdańsk szczecin bydgoszcz lublin białystok katowice gdynia częstochowa
radom sosnowiec toruń kielce rzeszów gliwice zabrze olsztyn bielsko opole gorzów zielonagóra elbląg płock
tarnów koszalin legnica kalisz słupsk zakopane sopot hel mazury tatry bieszczady karkonosze bałtyk wisła
odra mazowsze małopolska wielkopolska pomorze śląsk podhale kaszuby warmia podlasie europa ameryka
styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad grudzień
poniedziałek wtorek środa czwartek piątek sobota niedziela wiosna lato jesień zima wakacje urlop święta
wigilia sylwester majówka jeden dwa trzy cztery pięć sześć siedem osiem dziewięć dziesięć sto tysiąc milion
mama mamusia mamuśka tata tatuś tatuśek babcia babunia dziadek dziadziuś brat braciszek siostra siostrzyczka
córka córeczka syn synek synuś rodzina dom domek mieszkanie ogród dziecko dzieci wnuczek wnuczka ciocia wujek
życie szczęście nadzieja wiara wolność honor przyjaciel przyjaciółka przyjaźń pies piesek psiak szczeniak
kot kotka koteczka kociak królik królisia chomik konik koń tygrys lew orzeł orzełbiały sokół wilk lis niedźwiedź
kwiatek róża różyczka tulipan stokrotka fiołek słonecznik jabłko gruszka śliwka wiśnia czereśnia truskawka
malina banan pomarańcza cytryna arbuz czekolada cukierek ciastko lody kawa herbata piwo wódka żubr tyskie
żywiec lechpils pierogi bigos schabowy kiełbasa pizza kebab samochód auto bmw audi opel fiat polonez maluch
mercedes toyota skoda volkswagen passat golf motor rower komputer laptop internet telefon komórka samsung
nokia iphone xiaomi onet interia gazeta allegro olx gadugadu naszaklasa facebook instagram tiktok youtube
muzyka gitara piosenka kino film gra gry piłka piłkanożna mecz kibic gol bramka trener szef prezes dyrektor
kierownik firma biuro praca pracownik księgowa księgowy księgowość faktura faktury rachunek konto bank
pieniądze kasa złoto srebro diament bursztyn kadry płace kadra księga podatek vat zus pit cit nip regon
szkoła klasa nauczyciel student studia uczelnia matura egzamin lekarz szpital policja wojsko żołnierz
"""


def fold(text: str) -> str:
    """Lower case, Polish letters as ASCII ("Hasło" -> "haslo"): how the policy compares words."""
    text = unicodedata.normalize("NFKD", text.lower().replace("ł", "l"))
    return "".join(c for c in text if not unicodedata.combining(c))


SUFFIXES = (["1", "12", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789", "1234567890",
             "!", "1!", "12!", "123!", "1234!", "123456!", "!@#", "111", "000", "007", "666", "777", "1337"]
            + [str(year) for year in range(1950, 2036)])


def words(*groups: str) -> list[str]:
    out, seen = [], set()
    for group in groups:
        for word in group.split():
            word = fold(word)
            if word and word not in seen:
                seen.add(word)
                out.append(word)
    return out


def main() -> int:
    try:
        import zxcvbn
        from zxcvbn.frequency_lists import FREQUENCY_LISTS
        from importlib.metadata import version
    except ImportError:
        print("zxcvbn is not installed: make venv", file=sys.stderr)
        return 1
    if version("zxcvbn") != ZXCVBN:
        print(f"zxcvbn {version('zxcvbn')} is installed; this list is made from {ZXCVBN}", file=sys.stderr)
        return 1
    del zxcvbn

    polish = words(NORDPASS_PL, PASSWORD_WORDS, FEMALE_NAMES, MALE_NAMES, SURNAMES, PLACES_AND_THINGS)

    common, seen = [], set()

    def add(word: str) -> None:
        if word and word not in seen and len(word) <= MAX:
            seen.add(word)
            common.append(word)

    for i, word in enumerate(FREQUENCY_LISTS["passwords"]):
        word = fold(word.strip())
        if i < TOP or len(word) >= LONG:
            add(word)
    for word in polish[:len(words(NORDPASS_PL, PASSWORD_WORDS))]:  # the password words get the endings
        if len(word) >= LONG:
            add(word)
        for suffix in SUFFIXES:
            if len(word) + len(suffix) >= LONG:
                add(word + suffix)
        if len(word) * 2 >= LONG:
            add(word + word)

    os.makedirs(DATA, exist_ok=True)
    header = ("# Generated by services/identity/scripts/make_common_passwords.py from zxcvbn {v} (MIT licence) and the\n"
              "# Polish lists written down in that script (sources named there); do not edit.\n").format(v=ZXCVBN)
    with open(os.path.join(DATA, "common-passwords.txt"), "w", encoding="utf-8") as f:
        f.write("# Passwords refused exactly (lower case, Polish letters folded).\n" + header)
        f.writelines(word + "\n" for word in common)
    with open(os.path.join(DATA, "polish.txt"), "w", encoding="utf-8") as f:
        f.write("# Polish words, names and password habits, most common first: a zxcvbn dictionary.\n" + header)
        f.writelines(word + "\n" for word in polish)
    print(f"wrote {len(common)} common passwords and {len(polish)} Polish words to {os.path.normpath(DATA)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
