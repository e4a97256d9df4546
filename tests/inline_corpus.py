"""A tiny corpus written by the tests themselves: six short documents in five formats, catalogued."""

from __future__ import annotations

from pathlib import Path

# Document ids (paths relative to the corpus root), one per reader the corpus exercises.
REFUGEE = "treaties/refugee_convention_1951.md"
EXTRADITION_TREATY = "treaties/european_convention_extradition_1957.md"
COMMENTARY = "articles/carrier_sanctions_commentary.txt"
DUBLIN = "eu/dublin_regulation_summary.html"
EXTRADITION_ACT = "legislation/canada/ca_extradition_act.xml"
ASYLUM_CODE = "legislation/us/usc_title8_asylum.md"
DOCUMENTS: tuple[str, ...] = (REFUGEE, EXTRADITION_TREATY, COMMENTARY, DUBLIN, EXTRADITION_ACT,
                              ASYLUM_CODE)

# Catalogue fields of each document, as the catalogue below gives them.
JURISDICTION = {REFUGEE: "international", EXTRADITION_TREATY: "council-of-europe",
                COMMENTARY: "none", DUBLIN: "eu", EXTRADITION_ACT: "canada", ASYLUM_CODE: "us"}
YEAR = {REFUGEE: 1951, EXTRADITION_TREATY: 1957, COMMENTARY: 2019, DUBLIN: 2013,
        EXTRADITION_ACT: 1999, ASYLUM_CODE: 1952}
TYPE = {REFUGEE: "treaty", EXTRADITION_TREATY: "treaty", COMMENTARY: "article",
        DUBLIN: "regulation", EXTRADITION_ACT: "statute", ASYLUM_CODE: "statute"}

# Each article is long enough (over the chunker's 48 "tiny" tokens) to get chunks of its own,
# so that a chunk's heading path names exactly one article.
REFUGEE_TEXT = """\
## Chapter I – General provisions

### Article 1 – Definition of the term "refugee"

For the purposes of the present Convention, the term "refugee" shall apply to any person who, \
owing to well-founded fear of being persecuted for reasons of race, religion, nationality, \
membership of a particular social group or political opinion, is outside the country of his \
nationality and is unable or, owing to such fear, is unwilling to avail himself of the \
protection of that country.

The present Convention shall not apply to any person with respect to whom there are serious \
reasons for considering that he has committed a crime against peace, a war crime, or a crime \
against humanity.

### Article 2 – General obligations

Every refugee has duties to the country in which he finds himself, which require in particular \
that he conform to its laws and regulations as well as to measures taken for the maintenance of \
public order. Those duties are owed by every refugee lawfully staying in the territory, and the \
Contracting States shall make them known to refugees in a language they understand.

## Chapter V – Administrative measures

### Article 31 – Refugees unlawfully in the country of refuge

The Contracting States shall not impose penalties, on account of their illegal entry or \
presence, on refugees who, coming directly from a territory where their life or freedom was \
threatened, enter or are present in their territory without authorization, provided they \
present themselves without delay to the authorities and show good cause for their illegal entry \
or presence.

The Contracting States shall not apply to the movements of such refugees restrictions other \
than those which are necessary, and such restrictions shall only be applied until their status \
in the country is regularized.

### Article 33 – Prohibition of expulsion or return ("refoulement")

No Contracting State shall expel or return ("refouler") a refugee in any manner whatsoever to \
the frontiers of territories where his life or freedom would be threatened on account of his \
race, religion, nationality, membership of a particular social group or political opinion.

The benefit of the present provision may not, however, be claimed by a refugee whom there are \
reasonable grounds for regarding as a danger to the security of the country in which he is, or \
who, having been convicted by a final judgement of a particularly serious crime, constitutes a \
danger to the community of that country.
"""

EXTRADITION_TREATY_TEXT = """\
## Article 1 – Obligation to extradite

The Contracting Parties undertake to surrender to each other all persons against whom the \
competent authorities of the requesting Party are proceeding for an offence or who are wanted by \
the said authorities for the carrying out of a sentence or detention order, subject to the \
provisions and conditions laid down in this Convention.

## Article 3 – Political offences

Extradition shall not be granted if the offence in respect of which it is requested is regarded \
by the requested Party as a political offence or as an offence connected with a political \
offence. The same rule shall apply if the requested Party has substantial grounds for believing \
that a request for extradition for an ordinary criminal offence has been made for the purpose of \
prosecuting or punishing a person on account of his race, religion, nationality or political \
opinion.

## Article 11 – Capital punishment

If the offence for which extradition is requested is punishable by death under the law of the \
requesting Party, and if in respect of such offence the death penalty is not provided for by the \
law of the requested Party or is not normally carried out, extradition may be refused unless the \
requesting Party gives such assurance as the requested Party considers sufficient that the death \
penalty will not be carried out.
"""

COMMENTARY_TEXT = """\
Carrier Sanctions and the Cross-Border Enforcement of Immigration Laws

States increasingly enforce their immigration laws far from their own borders. Airlines, \
shipping companies and bus operators are fined when they carry passengers who arrive without a \
valid passport or visa, and so the carriers themselves inspect travel documents at the point of \
departure, long before a traveller reaches a border guard.

Airline Liaison Officers

Immigration liaison officers posted at foreign airports advise airline staff on forged and \
altered documents. They have no power to arrest anyone, yet their advice decides whether a \
passenger may board the aircraft, and a traveller refused boarding has no hearing and no appeal \
against the decision of a private check-in agent.

Consequences for Asylum Seekers

Because a person fleeing persecution rarely holds a visa, carrier sanctions make it hard to \
reach a country where asylum could be claimed. Critics argue that outsourcing document checks \
to carriers shifts the duty of protection onto ticket counters that cannot assess it.
"""

DUBLIN_TEXT = """\
<!DOCTYPE html>
<html lang="en"><head><title>Dublin III Regulation: a summary</title>
<script>window.analytics = true;</script></head>
<body>
<nav><a href="/">Home</a> <a href="/eu-law">EU law</a></nav>
<main>
<h1>Dublin III Regulation: a summary</h1>
<p>Regulation (EU) No 604/2013 establishes the criteria and mechanisms for determining the \
Member State responsible for examining an application for international protection lodged in \
one of the Member States by a third-country national or a stateless person.</p>
<h2>Criteria for responsibility</h2>
<p>The criteria apply in a fixed hierarchy. A Member State where an unaccompanied minor has a \
family member legally present is responsible first; then the Member State which issued a \
residence document or visa; then the Member State whose external border the applicant crossed \
irregularly, for twelve months after the crossing.</p>
<h2>Eurodac fingerprints and transfers</h2>
<p>Fingerprints taken and stored in the Eurodac database show where an applicant first entered. \
A transfer of the applicant to the responsible Member State shall be carried out within six \
months of the acceptance of the request to take charge, or the responsibility passes to the \
requesting Member State.</p>
</main>
<footer>Published by an EU law digest. Cookie settings.</footer>
</body></html>
"""

EXTRADITION_ACT_TEXT = """\
<?xml version="1.0" encoding="utf-8"?>
<Statute xml:lang="en" in-force="yes">
<Identification>
<LongTitle>An Act respecting extradition</LongTitle>
<ShortTitle status="official">Extradition Act</ShortTitle>
<RunningHead>Extradition</RunningHead>
</Identification>
<Body>
<Heading level="1"><TitleText>Short Title</TitleText></Heading>
<Section><MarginalNote>Short title</MarginalNote><Label>1</Label>\
<Text>This Act may be cited as the Extradition Act.</Text></Section>
<Heading level="1"><Label>PART 1</Label><TitleText>General Principles</TitleText></Heading>
<Section><MarginalNote>General principle</MarginalNote><Label>3</Label>
<Subsection><Label>(1)</Label><Text>A person may be extradited from Canada in accordance with \
this Act and a relevant extradition agreement on the request of an extradition partner for the \
purpose of prosecuting the person or imposing a sentence on the person, if the offence is \
punishable by the extradition partner by imprisonment for a maximum term of two years or \
more.</Text></Subsection>
<Subsection><Label>(2)</Label><Text>Conduct is punishable in Canada whether or not it bears the \
same name as an offence in the law of the extradition partner, and whether or not the \
elements of the offence are the same in both laws, so long as the conduct of the person, taken as \
a whole, would have been punishable in Canada had it occurred in Canada.</Text></Subsection>
<HistoricalNote>1999, c. 18, s. 3</HistoricalNote>
</Section>
<Heading level="1"><Label>PART 2</Label><TitleText>Refusal of Surrender</TitleText></Heading>
<Section><MarginalNote>When order not to be made</MarginalNote><Label>44</Label>
<Subsection><Label>(1)</Label><Text>The Minister shall refuse to make a surrender order if the \
Minister is satisfied that the surrender would be unjust or oppressive having regard to all the \
relevant circumstances, or that the request for extradition is made for the purpose of \
prosecuting or punishing the person by reason of their race, religion, sex, sexual orientation, \
age or political opinion.</Text></Subsection>
<Subsection><Label>(2)</Label><Text>The Minister may refuse to make a surrender order if the \
Minister is satisfied that the conduct in respect of which the request for extradition is made \
is punishable by death under the laws that apply to the extradition partner, unless the partner \
gives assurances that the death penalty will not be imposed.</Text></Subsection>
</Section>
</Body>
</Statute>
"""

ASYLUM_CODE_TEXT = """\
# Title 8— ALIENS AND NATIONALITY
### CHAPTER 12— IMMIGRATION AND NATIONALITY
#### § 1158. Asylum

(a) Authority to apply for asylum

Any alien who is physically present in the United States or who arrives in the United States, \
whether or not at a designated port of arrival, irrespective of such alien's status, may apply \
for asylum in accordance with this section.

(d) Time limit

An application for asylum shall be filed within 1 year after the date of the alien's arrival in \
the United States, unless the alien demonstrates extraordinary circumstances relating to the \
delay in filing the application.

#### § 1225. Inspection by immigration officers

All aliens who are applicants for admission or otherwise seeking admission or readmission to or \
transit through the United States shall be inspected by immigration officers at a port of entry, \
and an alien who indicates an intention to apply for asylum or a fear of persecution shall be \
referred for an interview by an asylum officer.
"""

CATALOGUE_TEXT = f"""\
# The inline test corpus's catalogue (same keys as corpus/catalogue.toml).

[[instrument]]
id = "refugee-convention-1951"
file = "{REFUGEE}"
title = "Convention relating to the Status of Refugees"
short_names = ["Refugee Convention", "1951 Convention"]
jurisdiction = "international"
instrument_type = "treaty"
year = 1951

[[instrument]]
id = "european-convention-extradition-1957"
file = "{EXTRADITION_TREATY}"
title = "European Convention on Extradition"
short_names = ["ECE", "European Extradition Convention"]
jurisdiction = "council-of-europe"
instrument_type = "treaty"
year = 1957

[[instrument]]
id = "carrier-sanctions-commentary"
file = "{COMMENTARY}"
title = "Carrier Sanctions and the Cross-Border Enforcement of Immigration Laws"
jurisdiction = "none"
instrument_type = "article"
year = 2019

[[instrument]]
id = "dublin-iii-summary"
file = "{DUBLIN}"
title = "Dublin III Regulation: a summary"
short_names = ["Dublin III", "Dublin Regulation"]
jurisdiction = "eu"
instrument_type = "regulation"
year = 2013

[[instrument]]
id = "ca-extradition-act"
file = "{EXTRADITION_ACT}"
title = "Extradition Act"
short_names = ["Extradition Act"]
jurisdiction = "canada"
instrument_type = "statute"
year = 1999

[[instrument]]
id = "usc-title8-asylum"
file = "{ASYLUM_CODE}"
title = "8 U.S.C. Chapter 12 (asylum and inspection)"
short_names = ["Immigration and Nationality Act", "INA"]
jurisdiction = "us"
instrument_type = "statute"
year = 1952
"""

TEXTS: dict[str, str] = {REFUGEE: REFUGEE_TEXT, EXTRADITION_TREATY: EXTRADITION_TREATY_TEXT,
                         COMMENTARY: COMMENTARY_TEXT, DUBLIN: DUBLIN_TEXT,
                         EXTRADITION_ACT: EXTRADITION_ACT_TEXT, ASYLUM_CODE: ASYLUM_CODE_TEXT}


def write_inline_corpus(root: Path) -> Path:
    """Writes the six documents and their catalogue.toml under `root` (created); returns it."""
    for rel, text in TEXTS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "catalogue.toml").write_text(CATALOGUE_TEXT, encoding="utf-8")
    return root
