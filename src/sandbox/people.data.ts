// Reference data behind generatePeople(): countries (cities, time zones, phone plans, locales, company suffixes,
// free-mail domains), names by culture, nicknames, titles. Plain data only; the choices are made in people.ts.
// Phone prefixes are real mobile (or city) ranges so "valid" numbers validate with libphonenumber.

export interface CityData {
  name: string;
  tz: string;
  /** City/area dialling codes; when absent the country's mobile prefixes are used. */
  areas?: string[];
  locale?: string;
}

export interface CountryData {
  code: string;
  /** How people write the country by hand, used for the "country given as a name" imperfection. */
  names: string[];
  weight: number;
  dial: string;
  /** National trunk prefix ('' where none is dialled, e.g. NANP or mobile-only plans). */
  trunk: string;
  /** Length of the national significant number. */
  nsnLength: number;
  /** Mobile prefixes of the national significant number. */
  mobile: string[];
  /** Allowed first digit after the prefix ('' = any). */
  next?: string;
  /** Digit groups for display; the last group takes the rest. */
  groups: number[];
  cities: CityData[];
  locales: string[];
  cultures: string[];
  tld: string;
  companySuffixes: string[];
  freemail: string[];
}

const GLOBAL_MAIL = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.com', 'icloud.com', 'proton.me'];

// Data tables stay compact (one line per country or culture); Prettier would give each name its own line.
// prettier-ignore
export const COUNTRIES: CountryData[] = [
  {
    code: 'US', names: ['United States', 'USA', 'U.S.', 'United States of America'], weight: 18, dial: '1', trunk: '',
    nsnLength: 10, mobile: [], next: '23456789', groups: [3, 3, 4],
    cities: [
      { name: 'New York', tz: 'America/New_York', areas: ['212', '646', '718'] },
      { name: 'San Francisco', tz: 'America/Los_Angeles', areas: ['415', '628'] },
      { name: 'Los Angeles', tz: 'America/Los_Angeles', areas: ['213', '310', '323'] },
      { name: 'Chicago', tz: 'America/Chicago', areas: ['312', '773'] },
      { name: 'Austin', tz: 'America/Chicago', areas: ['512', '737'] },
      { name: 'Seattle', tz: 'America/Los_Angeles', areas: ['206'] },
      { name: 'Boston', tz: 'America/New_York', areas: ['617', '857'] },
      { name: 'Miami', tz: 'America/New_York', areas: ['305', '786'] },
      { name: 'Denver', tz: 'America/Denver', areas: ['303', '720'] },
      { name: 'Atlanta', tz: 'America/New_York', areas: ['404', '678'] },
      { name: 'Phoenix', tz: 'America/Phoenix', areas: ['602', '480'] },
    ],
    locales: ['en-US', 'en-US', 'en-US', 'es-US'], cultures: ['us', 'us', 'us', 'hispanic', 'in', 'cn', 'vn'],
    tld: 'com', companySuffixes: ['Inc.', 'LLC', 'Corp.', 'Co.'], freemail: ['aol.com', 'comcast.net'],
  },
  {
    code: 'CA', names: ['Canada'], weight: 5, dial: '1', trunk: '', nsnLength: 10, mobile: [], next: '23456789',
    groups: [3, 3, 4],
    cities: [
      { name: 'Toronto', tz: 'America/Toronto', areas: ['416', '647'] },
      { name: 'Montréal', tz: 'America/Toronto', areas: ['514', '438'], locale: 'fr-CA' },
      { name: 'Vancouver', tz: 'America/Vancouver', areas: ['604', '778'] },
      { name: 'Calgary', tz: 'America/Edmonton', areas: ['403', '587'] },
      { name: 'Ottawa', tz: 'America/Toronto', areas: ['613'] },
      { name: 'Halifax', tz: 'America/Halifax', areas: ['902'] },
    ],
    locales: ['en-CA'], cultures: ['us', 'fr', 'cn', 'in'], tld: 'ca', companySuffixes: ['Inc.', 'Ltd.', 'Corp.'],
    freemail: ['rogers.com', 'shaw.ca'],
  },
  {
    code: 'MX', names: ['Mexico', 'México'], weight: 3, dial: '52', trunk: '', nsnLength: 10, mobile: [], next: '123456789',
    groups: [2, 4, 4],
    cities: [
      { name: 'Ciudad de México', tz: 'America/Mexico_City', areas: ['55'] },
      { name: 'Guadalajara', tz: 'America/Mexico_City', areas: ['33'] },
      { name: 'Monterrey', tz: 'America/Monterrey', areas: ['81'] },
      { name: 'Puebla', tz: 'America/Mexico_City', areas: ['222'] },
      { name: 'Tijuana', tz: 'America/Tijuana', areas: ['664'] },
    ],
    locales: ['es-MX'], cultures: ['hispanic'], tld: 'com.mx', companySuffixes: ['S.A. de C.V.', 'S. de R.L.'],
    freemail: ['prodigy.net.mx', 'yahoo.com.mx'],
  },
  {
    code: 'BR', names: ['Brazil', 'Brasil'], weight: 5, dial: '55', trunk: '0', nsnLength: 11, mobile: [], next: '9',
    groups: [2, 5, 4],
    cities: [
      { name: 'São Paulo', tz: 'America/Sao_Paulo', areas: ['11'] },
      { name: 'Rio de Janeiro', tz: 'America/Sao_Paulo', areas: ['21'] },
      { name: 'Belo Horizonte', tz: 'America/Sao_Paulo', areas: ['31'] },
      { name: 'Porto Alegre', tz: 'America/Sao_Paulo', areas: ['51'] },
      { name: 'Curitiba', tz: 'America/Sao_Paulo', areas: ['41'] },
      { name: 'Recife', tz: 'America/Recife', areas: ['81'] },
      { name: 'Manaus', tz: 'America/Manaus', areas: ['92'] },
    ],
    locales: ['pt-BR'], cultures: ['br', 'br', 'jp', 'it'], tld: 'com.br', companySuffixes: ['Ltda.', 'S.A.'],
    freemail: ['uol.com.br', 'bol.com.br', 'terra.com.br'],
  },
  {
    code: 'AR', names: ['Argentina'], weight: 2, dial: '54', trunk: '0', nsnLength: 10, mobile: [], next: '45',
    groups: [2, 4, 4],
    cities: [
      { name: 'Buenos Aires', tz: 'America/Argentina/Buenos_Aires', areas: ['11'] },
      { name: 'Córdoba', tz: 'America/Argentina/Cordoba', areas: ['351'] },
      { name: 'Rosario', tz: 'America/Argentina/Cordoba', areas: ['341'] },
      { name: 'Mendoza', tz: 'America/Argentina/Mendoza', areas: ['261'] },
    ],
    locales: ['es-AR'], cultures: ['hispanic', 'it'], tld: 'com.ar', companySuffixes: ['S.A.', 'S.R.L.'],
    freemail: ['fibertel.com.ar', 'yahoo.com.ar'],
  },
  {
    code: 'GB', names: ['United Kingdom', 'UK', 'England', 'Great Britain'], weight: 7, dial: '44', trunk: '0',
    nsnLength: 10, mobile: ['71', '72', '73', '74', '75', '78'], groups: [4, 6],
    cities: [
      { name: 'London', tz: 'Europe/London' },
      { name: 'Manchester', tz: 'Europe/London' },
      { name: 'Birmingham', tz: 'Europe/London' },
      { name: 'Edinburgh', tz: 'Europe/London' },
      { name: 'Bristol', tz: 'Europe/London' },
      { name: 'Leeds', tz: 'Europe/London' },
      { name: 'Glasgow', tz: 'Europe/London' },
    ],
    locales: ['en-GB'], cultures: ['gb', 'gb', 'gb', 'in', 'pl', 'ng'], tld: 'co.uk',
    companySuffixes: ['Ltd', 'Ltd.', 'PLC', 'LLP'], freemail: ['btinternet.com', 'sky.com', 'yahoo.co.uk'],
  },
  {
    code: 'IE', names: ['Ireland', 'Éire', 'Republic of Ireland'], weight: 2, dial: '353', trunk: '0', nsnLength: 9,
    mobile: ['83', '85', '86', '87', '89'], groups: [2, 3, 4],
    cities: [
      { name: 'Dublin', tz: 'Europe/Dublin' },
      { name: 'Cork', tz: 'Europe/Dublin' },
      { name: 'Galway', tz: 'Europe/Dublin' },
      { name: 'Limerick', tz: 'Europe/Dublin' },
    ],
    locales: ['en-IE'], cultures: ['ie', 'ie', 'pl', 'br'], tld: 'ie', companySuffixes: ['Ltd', 'DAC', 'Teoranta'],
    freemail: ['eircom.net'],
  },
  {
    code: 'FR', names: ['France', 'République française'], weight: 5, dial: '33', trunk: '0', nsnLength: 9,
    mobile: ['60', '61', '62', '64', '65', '66', '67', '68', '75', '76', '77', '78'], groups: [1, 2, 2, 2, 2],
    cities: [
      { name: 'Paris', tz: 'Europe/Paris' },
      { name: 'Lyon', tz: 'Europe/Paris' },
      { name: 'Marseille', tz: 'Europe/Paris' },
      { name: 'Toulouse', tz: 'Europe/Paris' },
      { name: 'Bordeaux', tz: 'Europe/Paris' },
      { name: 'Lille', tz: 'Europe/Paris' },
      { name: 'Nantes', tz: 'Europe/Paris' },
    ],
    locales: ['fr-FR'], cultures: ['fr', 'fr', 'fr', 'ar', 'pt'], tld: 'fr', companySuffixes: ['SAS', 'SARL', 'SA'],
    freemail: ['orange.fr', 'free.fr', 'laposte.net', 'wanadoo.fr'],
  },
  {
    code: 'DE', names: ['Germany', 'Deutschland', 'Federal Republic of Germany'], weight: 6, dial: '49', trunk: '0',
    nsnLength: 10, mobile: ['170', '171', '172', '173', '174', '175', '176', '177', '178', '179'], groups: [3, 7],
    cities: [
      { name: 'Berlin', tz: 'Europe/Berlin' },
      { name: 'München', tz: 'Europe/Berlin' },
      { name: 'Hamburg', tz: 'Europe/Berlin' },
      { name: 'Köln', tz: 'Europe/Berlin' },
      { name: 'Frankfurt am Main', tz: 'Europe/Berlin' },
      { name: 'Stuttgart', tz: 'Europe/Berlin' },
      { name: 'Leipzig', tz: 'Europe/Berlin' },
    ],
    locales: ['de-DE'], cultures: ['de', 'de', 'de', 'tr', 'pl'], tld: 'de', companySuffixes: ['GmbH', 'AG', 'GmbH & Co. KG'],
    freemail: ['web.de', 'gmx.de', 't-online.de'],
  },
  {
    code: 'ES', names: ['Spain', 'España'], weight: 4, dial: '34', trunk: '', nsnLength: 9, mobile: ['6', '71', '72'],
    groups: [3, 3, 3],
    cities: [
      { name: 'Madrid', tz: 'Europe/Madrid' },
      { name: 'Barcelona', tz: 'Europe/Madrid', locale: 'ca-ES' },
      { name: 'Valencia', tz: 'Europe/Madrid' },
      { name: 'Sevilla', tz: 'Europe/Madrid' },
      { name: 'Bilbao', tz: 'Europe/Madrid' },
      { name: 'Las Palmas de Gran Canaria', tz: 'Atlantic/Canary' },
    ],
    locales: ['es-ES'], cultures: ['es', 'es', 'hispanic'], tld: 'es', companySuffixes: ['S.L.', 'S.A.'],
    freemail: ['telefonica.net', 'yahoo.es'],
  },
  {
    code: 'IT', names: ['Italy', 'Italia'], weight: 4, dial: '39', trunk: '', nsnLength: 10,
    mobile: ['320', '328', '333', '338', '340', '347', '348', '349', '366', '380', '393'], groups: [3, 3, 4],
    cities: [
      { name: 'Milano', tz: 'Europe/Rome' },
      { name: 'Roma', tz: 'Europe/Rome' },
      { name: 'Torino', tz: 'Europe/Rome' },
      { name: 'Napoli', tz: 'Europe/Rome' },
      { name: 'Bologna', tz: 'Europe/Rome' },
      { name: 'Firenze', tz: 'Europe/Rome' },
    ],
    locales: ['it-IT'], cultures: ['it'], tld: 'it', companySuffixes: ['S.r.l.', 'S.p.A.'],
    freemail: ['libero.it', 'virgilio.it', 'tiscali.it'],
  },
  {
    code: 'NL', names: ['Netherlands', 'The Netherlands', 'Nederland', 'Holland'], weight: 3, dial: '31', trunk: '0',
    nsnLength: 9, mobile: ['61', '62', '63', '64', '65'], groups: [1, 8],
    cities: [
      { name: 'Amsterdam', tz: 'Europe/Amsterdam' },
      { name: 'Rotterdam', tz: 'Europe/Amsterdam' },
      { name: 'Utrecht', tz: 'Europe/Amsterdam' },
      { name: 'Den Haag', tz: 'Europe/Amsterdam' },
      { name: 'Eindhoven', tz: 'Europe/Amsterdam' },
    ],
    locales: ['nl-NL'], cultures: ['nl', 'nl', 'nl', 'tr'], tld: 'nl', companySuffixes: ['B.V.', 'N.V.'],
    freemail: ['ziggo.nl', 'kpnmail.nl'],
  },
  {
    code: 'SE', names: ['Sweden', 'Sverige'], weight: 2, dial: '46', trunk: '0', nsnLength: 9,
    mobile: ['70', '72', '73', '76', '79'], groups: [2, 3, 2, 2],
    cities: [
      { name: 'Stockholm', tz: 'Europe/Stockholm' },
      { name: 'Göteborg', tz: 'Europe/Stockholm' },
      { name: 'Malmö', tz: 'Europe/Stockholm' },
      { name: 'Uppsala', tz: 'Europe/Stockholm' },
    ],
    locales: ['sv-SE'], cultures: ['sv', 'sv', 'sv', 'ar'], tld: 'se', companySuffixes: ['AB'],
    freemail: ['telia.com', 'bredband.net'],
  },
  {
    code: 'PL', names: ['Poland', 'Polska'], weight: 3, dial: '48', trunk: '', nsnLength: 9,
    mobile: ['50', '51', '53', '57', '60', '66', '69', '72', '73', '78', '79', '88'], groups: [3, 3, 3],
    cities: [
      { name: 'Warszawa', tz: 'Europe/Warsaw' },
      { name: 'Kraków', tz: 'Europe/Warsaw' },
      { name: 'Wrocław', tz: 'Europe/Warsaw' },
      { name: 'Gdańsk', tz: 'Europe/Warsaw' },
      { name: 'Poznań', tz: 'Europe/Warsaw' },
    ],
    locales: ['pl-PL'], cultures: ['pl'], tld: 'pl', companySuffixes: ['Sp. z o.o.', 'S.A.'],
    freemail: ['wp.pl', 'onet.pl', 'o2.pl', 'interia.pl'],
  },
  {
    code: 'TR', names: ['Turkey', 'Türkiye', 'Turkiye'], weight: 3, dial: '90', trunk: '0', nsnLength: 10,
    mobile: ['530', '532', '533', '535', '536', '541', '542', '543', '505', '506', '555'], groups: [3, 3, 2, 2],
    cities: [
      { name: 'İstanbul', tz: 'Europe/Istanbul' },
      { name: 'Ankara', tz: 'Europe/Istanbul' },
      { name: 'İzmir', tz: 'Europe/Istanbul' },
      { name: 'Bursa', tz: 'Europe/Istanbul' },
      { name: 'Antalya', tz: 'Europe/Istanbul' },
    ],
    locales: ['tr-TR'], cultures: ['tr'], tld: 'com.tr', companySuffixes: ['A.Ş.', 'Ltd. Şti.'],
    freemail: ['hotmail.com.tr', 'yandex.com.tr'],
  },
  {
    code: 'NG', names: ['Nigeria'], weight: 3, dial: '234', trunk: '0', nsnLength: 10,
    mobile: ['803', '806', '813', '816', '703', '706', '903', '805', '807', '815', '905'], groups: [3, 3, 4],
    cities: [
      { name: 'Lagos', tz: 'Africa/Lagos' },
      { name: 'Abuja', tz: 'Africa/Lagos' },
      { name: 'Port Harcourt', tz: 'Africa/Lagos' },
      { name: 'Ibadan', tz: 'Africa/Lagos' },
      { name: 'Kano', tz: 'Africa/Lagos' },
    ],
    locales: ['en-NG'], cultures: ['ng'], tld: 'com.ng', companySuffixes: ['Ltd', 'Limited', 'PLC'],
    freemail: ['yahoo.co.uk'],
  },
  {
    code: 'ZA', names: ['South Africa', 'RSA'], weight: 2, dial: '27', trunk: '0', nsnLength: 9,
    mobile: ['60', '61', '71', '72', '73', '74', '76', '79', '82', '83', '84'], groups: [2, 3, 4],
    cities: [
      { name: 'Johannesburg', tz: 'Africa/Johannesburg' },
      { name: 'Cape Town', tz: 'Africa/Johannesburg', locale: 'af-ZA' },
      { name: 'Durban', tz: 'Africa/Johannesburg', locale: 'zu-ZA' },
      { name: 'Pretoria', tz: 'Africa/Johannesburg' },
    ],
    locales: ['en-ZA'], cultures: ['za'], tld: 'co.za', companySuffixes: ['(Pty) Ltd', 'Ltd'],
    freemail: ['webmail.co.za', 'mweb.co.za'],
  },
  {
    code: 'KE', names: ['Kenya'], weight: 2, dial: '254', trunk: '0', nsnLength: 9,
    mobile: ['70', '71', '72', '74', '79', '11'], groups: [3, 6],
    cities: [
      { name: 'Nairobi', tz: 'Africa/Nairobi' },
      { name: 'Mombasa', tz: 'Africa/Nairobi', locale: 'sw-KE' },
      { name: 'Kisumu', tz: 'Africa/Nairobi' },
      { name: 'Nakuru', tz: 'Africa/Nairobi' },
    ],
    locales: ['en-KE', 'sw-KE'], cultures: ['ke', 'ke', 'in'], tld: 'co.ke', companySuffixes: ['Ltd', 'Limited'],
    freemail: [],
  },
  {
    code: 'EG', names: ['Egypt', 'Arab Republic of Egypt'], weight: 2, dial: '20', trunk: '0', nsnLength: 10,
    mobile: ['10', '11', '12', '15'], groups: [2, 4, 4],
    cities: [
      { name: 'Cairo', tz: 'Africa/Cairo' },
      { name: 'Alexandria', tz: 'Africa/Cairo' },
      { name: 'Giza', tz: 'Africa/Cairo' },
    ],
    locales: ['ar-EG', 'en-EG'], cultures: ['ar'], tld: 'com.eg', companySuffixes: ['S.A.E.', 'LLC'], freemail: [],
  },
  {
    code: 'AE', names: ['United Arab Emirates', 'UAE', 'Emirates'], weight: 2, dial: '971', trunk: '0', nsnLength: 9,
    mobile: ['50', '52', '54', '55', '56', '58'], groups: [2, 3, 4],
    cities: [
      { name: 'Dubai', tz: 'Asia/Dubai' },
      { name: 'Abu Dhabi', tz: 'Asia/Dubai' },
      { name: 'Sharjah', tz: 'Asia/Dubai' },
    ],
    locales: ['en-AE', 'ar-AE'], cultures: ['ar', 'in', 'in', 'ph', 'gb'], tld: 'ae', companySuffixes: ['FZ-LLC', 'LLC', 'DMCC'],
    freemail: [],
  },
  {
    code: 'IN', names: ['India', 'Bharat'], weight: 6, dial: '91', trunk: '0', nsnLength: 10,
    mobile: ['98', '99', '97', '96', '95', '94', '93', '91', '90', '88', '87', '86', '85', '84', '83', '82', '81', '80', '79', '78', '77', '76', '75', '70'],
    groups: [5, 5],
    cities: [
      { name: 'Bengaluru', tz: 'Asia/Kolkata' },
      { name: 'Mumbai', tz: 'Asia/Kolkata' },
      { name: 'New Delhi', tz: 'Asia/Kolkata', locale: 'hi-IN' },
      { name: 'Hyderabad', tz: 'Asia/Kolkata' },
      { name: 'Chennai', tz: 'Asia/Kolkata', locale: 'ta-IN' },
      { name: 'Pune', tz: 'Asia/Kolkata' },
      { name: 'Kolkata', tz: 'Asia/Kolkata' },
    ],
    locales: ['en-IN', 'en-IN', 'hi-IN'], cultures: ['in'], tld: 'in', companySuffixes: ['Pvt. Ltd.', 'Ltd.', 'LLP'],
    freemail: ['rediffmail.com', 'yahoo.co.in'],
  },
  {
    code: 'CN', names: ['China', "People's Republic of China", 'PRC'], weight: 3, dial: '86', trunk: '', nsnLength: 11,
    mobile: ['130', '131', '132', '135', '136', '137', '138', '139', '150', '151', '152', '158', '159', '186', '187', '188', '189'],
    groups: [3, 4, 4],
    cities: [
      { name: 'Shanghai', tz: 'Asia/Shanghai' },
      { name: 'Beijing', tz: 'Asia/Shanghai' },
      { name: 'Shenzhen', tz: 'Asia/Shanghai' },
      { name: 'Hangzhou', tz: 'Asia/Shanghai' },
      { name: 'Chengdu', tz: 'Asia/Shanghai' },
    ],
    locales: ['zh-CN'], cultures: ['cn'], tld: 'cn', companySuffixes: ['Co., Ltd.', 'Technology Co., Ltd.'],
    freemail: ['qq.com', '163.com', '126.com'],
  },
  {
    code: 'JP', names: ['Japan', 'Nippon'], weight: 3, dial: '81', trunk: '0', nsnLength: 10, mobile: ['70', '80', '90'], next: '123456789',
    groups: [2, 4, 4],
    cities: [
      { name: 'Tokyo', tz: 'Asia/Tokyo' },
      { name: 'Osaka', tz: 'Asia/Tokyo' },
      { name: 'Yokohama', tz: 'Asia/Tokyo' },
      { name: 'Nagoya', tz: 'Asia/Tokyo' },
      { name: 'Fukuoka', tz: 'Asia/Tokyo' },
      { name: 'Sapporo', tz: 'Asia/Tokyo' },
    ],
    locales: ['ja-JP'], cultures: ['jp'], tld: 'co.jp', companySuffixes: ['K.K.', 'Co., Ltd.', 'G.K.'],
    freemail: ['yahoo.co.jp', 'docomo.ne.jp', 'nifty.com'],
  },
  {
    code: 'KR', names: ['South Korea', 'Korea', 'Republic of Korea'], weight: 2, dial: '82', trunk: '0', nsnLength: 10,
    mobile: ['10'], next: '12346789', groups: [2, 4, 4],
    cities: [
      { name: 'Seoul', tz: 'Asia/Seoul' },
      { name: 'Busan', tz: 'Asia/Seoul' },
      { name: 'Incheon', tz: 'Asia/Seoul' },
      { name: 'Daegu', tz: 'Asia/Seoul' },
    ],
    locales: ['ko-KR'], cultures: ['kr'], tld: 'co.kr', companySuffixes: ['Co., Ltd.', 'Inc.'],
    freemail: ['naver.com', 'daum.net', 'kakao.com'],
  },
  {
    code: 'VN', names: ['Vietnam', 'Viet Nam'], weight: 2, dial: '84', trunk: '0', nsnLength: 9,
    mobile: ['90', '91', '93', '94', '96', '97', '98', '32', '33', '34', '35', '36', '37', '38', '39', '70', '77', '78', '79', '81', '83', '84', '85', '86', '88'],
    groups: [2, 3, 4],
    cities: [
      { name: 'Hồ Chí Minh City', tz: 'Asia/Ho_Chi_Minh' },
      { name: 'Hà Nội', tz: 'Asia/Ho_Chi_Minh' },
      { name: 'Đà Nẵng', tz: 'Asia/Ho_Chi_Minh' },
    ],
    locales: ['vi-VN'], cultures: ['vn'], tld: 'vn', companySuffixes: ['JSC', 'Co., Ltd.'], freemail: [],
  },
  {
    code: 'PH', names: ['Philippines', 'The Philippines'], weight: 2, dial: '63', trunk: '0', nsnLength: 10,
    mobile: ['905', '906', '915', '916', '917', '918', '919', '920', '921', '927', '928', '939', '947', '977', '995'],
    groups: [3, 3, 4],
    cities: [
      { name: 'Manila', tz: 'Asia/Manila' },
      { name: 'Quezon City', tz: 'Asia/Manila' },
      { name: 'Cebu City', tz: 'Asia/Manila' },
      { name: 'Davao City', tz: 'Asia/Manila' },
    ],
    locales: ['en-PH', 'fil-PH'], cultures: ['ph'], tld: 'com.ph', companySuffixes: ['Inc.', 'Corp.'], freemail: [],
  },
  {
    code: 'AU', names: ['Australia'], weight: 4, dial: '61', trunk: '0', nsnLength: 9,
    mobile: ['40', '41', '42', '43', '46'], groups: [3, 3, 3],
    cities: [
      { name: 'Sydney', tz: 'Australia/Sydney' },
      { name: 'Melbourne', tz: 'Australia/Melbourne' },
      { name: 'Brisbane', tz: 'Australia/Brisbane' },
      { name: 'Perth', tz: 'Australia/Perth' },
      { name: 'Adelaide', tz: 'Australia/Adelaide' },
    ],
    locales: ['en-AU'], cultures: ['gb', 'gb', 'us', 'cn', 'in', 'vn', 'it'], tld: 'com.au',
    companySuffixes: ['Pty Ltd', 'Pty. Ltd.', 'Ltd'], freemail: ['bigpond.com', 'optusnet.com.au'],
  },
  {
    code: 'NZ', names: ['New Zealand', 'Aotearoa'], weight: 1, dial: '64', trunk: '0', nsnLength: 9,
    mobile: ['21', '22', '27'], groups: [2, 3, 4],
    cities: [
      { name: 'Auckland', tz: 'Pacific/Auckland' },
      { name: 'Wellington', tz: 'Pacific/Auckland' },
      { name: 'Christchurch', tz: 'Pacific/Auckland' },
    ],
    locales: ['en-NZ'], cultures: ['gb', 'nz'], tld: 'co.nz', companySuffixes: ['Limited', 'Ltd'],
    freemail: ['xtra.co.nz'],
  },
].map((c) => ({ ...c, freemail: [...GLOBAL_MAIL, ...c.freemail] }));

export interface NameCulture {
  first: string[];
  last: string[];
}

// prettier-ignore
export const CULTURES: Record<string, NameCulture> = {
  us: {
    first: ['James', 'Mary', 'Robert', 'Patricia', 'Michael', 'Jennifer', 'William', 'Elizabeth', 'David', 'Linda', 'Christopher', 'Ashley', 'Tyler', 'Brittany', 'Jamal', 'Keisha', 'Daniel', 'Samantha', 'Katherine', 'Jonathan', 'Madison', 'Ethan', 'Olivia', 'Nicholas'],
    last: ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Jackson', 'Washington', 'Harris', 'Clark', "O'Brien", 'McAllister', 'Goldberg', 'Kowalski', 'Schmidt', 'Rossi', 'Peterson', 'Hughes'],
  },
  gb: {
    first: ['Oliver', 'Amelia', 'Harry', 'Isla', 'George', 'Emily', 'Jack', 'Charlotte', 'Alfie', 'Poppy', 'Thomas', 'Sophie', 'William', 'Margaret', 'Callum', 'Eilidh', 'Rhys', 'Siân', 'Alexander', 'Katherine'],
    last: ['Smith', 'Jones', 'Taylor', 'Brown', 'Evans', 'Walker', 'Wright', 'Robinson', 'Thompson', 'White', 'Hughes', 'Edwards', 'Green', 'Hall', 'Wood', 'Campbell', 'MacDonald', 'Davies', 'Ffrench', 'Ashworth-Jones'],
  },
  ie: {
    first: ['Seán', 'Aoife', 'Conor', 'Niamh', 'Cian', 'Saoirse', 'Oisín', 'Siobhán', 'Pádraig', 'Caoimhe', 'Declan', 'Róisín', 'Ciarán', 'Orla'],
    last: ['Murphy', 'Kelly', "O'Sullivan", 'Walsh', "O'Connor", 'McCarthy', 'Byrne', 'Ryan', "O'Neill", 'Doyle', 'Gallagher', 'Ní Bhriain', 'Fitzgerald', 'Quinn'],
  },
  hispanic: {
    first: ['José', 'María', 'Juan', 'Guadalupe', 'Francisco', 'Ana', 'Luis', 'Sofía', 'Carlos', 'Valentina', 'Alejandro', 'Camila', 'Miguel Ángel', 'Ximena', 'Jesús', 'Fernanda', 'Diego', 'Lucía'],
    last: ['García', 'Hernández', 'López', 'Martínez', 'González', 'Rodríguez', 'Pérez', 'Sánchez', 'Ramírez', 'Flores', 'Gómez', 'Díaz', 'Torres', 'Vargas', 'Castillo', 'de la Cruz', 'Ortiz Mena', 'Romero'],
  },
  es: {
    first: ['Javier', 'Lucía', 'Alejandro', 'Carmen', 'Pablo', 'Laura', 'Sergio', 'Marta', 'Jordi', 'Montserrat', 'Iñaki', 'Nerea', 'Álvaro', 'Paula', 'Francisco', 'Elena'],
    last: ['García', 'Fernández', 'González', 'Rodríguez', 'López', 'Martínez', 'Sánchez', 'Pérez', 'Martín', 'Jiménez', 'Ruiz', 'Puig', 'Etxeberria', 'Navarro', 'Moreno', 'Muñoz'],
  },
  br: {
    first: ['João', 'Maria', 'Gabriel', 'Ana', 'Lucas', 'Júlia', 'Matheus', 'Beatriz', 'Rafael', 'Larissa', 'Thiago', 'Fernanda', 'Guilherme', 'Letícia', 'Vinícius', 'Camila'],
    last: ['Silva', 'Santos', 'Oliveira', 'Souza', 'Rodrigues', 'Ferreira', 'Alves', 'Pereira', 'Lima', 'Gomes', 'Costa', 'Ribeiro', 'Carvalho', 'Araújo', 'Nascimento', 'dos Santos'],
  },
  pt: {
    first: ['Tiago', 'Inês', 'Rui', 'Mariana', 'Duarte', 'Beatriz', 'Gonçalo', 'Catarina'],
    last: ['Ferreira', 'Pereira', 'Costa', 'Martins', 'Gonçalves', 'Rodrigues', 'Sousa', 'Fernandes'],
  },
  fr: {
    first: ['Jean', 'Marie', 'Pierre', 'Camille', 'Louis', 'Léa', 'Lucas', 'Chloé', 'Hugo', 'Manon', 'Théo', 'Élodie', 'François', 'Anaïs', 'Jean-Baptiste', 'Marie-Claire', 'Gaëlle', 'Mathieu'],
    last: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau', 'Lefèvre', 'Girard', 'Fournier', 'Lambert', 'Bonnaire', 'Dupont'],
  },
  de: {
    first: ['Lukas', 'Anna', 'Maximilian', 'Lea', 'Jonas', 'Hannah', 'Felix', 'Sophie', 'Jürgen', 'Ursula', 'Stefan', 'Sabine', 'Johannes', 'Katrin', 'Matthias', 'Jörg', 'Alexander', 'Mareike'],
    last: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Schröder', 'Koch', 'Weiß', 'Groß', 'Zimmermann', 'von Bredow'],
  },
  it: {
    first: ['Giuseppe', 'Maria', 'Francesco', 'Giulia', 'Alessandro', 'Francesca', 'Lorenzo', 'Chiara', 'Matteo', 'Sara', 'Andrea', 'Martina', 'Nicolò', 'Federica'],
    last: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco', 'Bruno', 'Gallo', 'Conti', "D'Angelo", 'De Luca', 'Mancini'],
  },
  nl: {
    first: ['Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Sanne', 'Thijs', 'Fleur', 'Bram', 'Anouk', 'Joost', 'Marieke', 'Pieter', 'Femke'],
    last: ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Janssen', 'Visser', 'Smit', 'Meijer', 'de Boer', 'Mulder', 'van der Meer', 'Dekker'],
  },
  sv: {
    first: ['Erik', 'Anna', 'Lars', 'Maria', 'Björn', 'Åsa', 'Johan', 'Karin', 'Oskar', 'Ingrid', 'Mikael', 'Sofia', 'Anders', 'Linnéa'],
    last: ['Andersson', 'Johansson', 'Karlsson', 'Nilsson', 'Eriksson', 'Larsson', 'Olsson', 'Persson', 'Svensson', 'Gustafsson', 'Lindqvist', 'Öberg', 'Åkesson', 'Berg'],
  },
  pl: {
    first: ['Piotr', 'Anna', 'Krzysztof', 'Katarzyna', 'Tomasz', 'Małgorzata', 'Łukasz', 'Agnieszka', 'Paweł', 'Magdalena', 'Michał', 'Joanna', 'Wojciech', 'Żaneta', 'Aleksander'],
    last: ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kowalczyk', 'Kamiński', 'Lewandowska', 'Zieliński', 'Szymańska', 'Woźniak', 'Dąbrowski', 'Kozłowski', 'Jankowska', 'Mazur'],
  },
  tr: {
    first: ['Mehmet', 'Ayşe', 'Mustafa', 'Fatma', 'Ahmet', 'Emine', 'Emre', 'Zeynep', 'Burak', 'Elif', 'Can', 'Özlem', 'Oğuz', 'Gül'],
    last: ['Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız', 'Yıldırım', 'Öztürk', 'Aydın', 'Özdemir', 'Arslan', 'Doğan', 'Kılıç', 'Aslan'],
  },
  ng: {
    first: ['Chukwuemeka', 'Ngozi', 'Oluwaseun', 'Adaeze', 'Babatunde', 'Funmilayo', 'Abdullahi', 'Aisha', 'Emeka', 'Chiamaka', 'Tunde', 'Folake', 'Ibrahim', 'Yetunde', 'Obinna', 'Zainab'],
    last: ['Okafor', 'Adeyemi', 'Okonkwo', 'Balogun', 'Eze', 'Nwosu', 'Abubakar', 'Adebayo', 'Ogunleye', 'Bello', 'Chukwu', 'Olawale', 'Ibrahim', 'Nnamdi', 'Afolabi', 'Uche'],
  },
  za: {
    first: ['Thabo', 'Nomvula', 'Sipho', 'Lerato', 'Pieter', 'Annelie', 'Johan', 'Naledi', 'Themba', 'Zanele', 'Ruan', 'Precious', 'Bongani', 'Michelle'],
    last: ['Nkosi', 'Dlamini', 'Ndlovu', 'Khumalo', 'van der Merwe', 'Botha', 'Pretorius', 'Naidoo', 'Mokoena', 'Mahlangu', 'du Plessis', 'Smith', 'Mthembu', 'Venter'],
  },
  ke: {
    first: ['Wanjiru', 'Kamau', 'Achieng', 'Otieno', 'Njeri', 'Kipchoge', 'Wambui', 'Mwangi', 'Akinyi', 'Kiprono', 'Faith', 'Brian', 'Mercy', 'Dennis'],
    last: ['Kamau', 'Otieno', 'Mwangi', 'Odhiambo', 'Wanjiku', 'Kiprotich', 'Njoroge', 'Ochieng', 'Mutua', 'Kariuki', 'Chebet', 'Onyango', 'Wafula', 'Kimani'],
  },
  ar: {
    first: ['Mohamed', 'Fatima', 'Ahmed', 'Mariam', 'Omar', 'Nour', 'Youssef', 'Salma', 'Khaled', 'Layla', 'Mostafa', 'Hana', 'Abdelrahman', 'Yasmin', 'Tarek', 'Rania'],
    last: ['Hassan', 'Ibrahim', 'Mahmoud', 'El-Sayed', 'Abdel-Aziz', 'Mansour', 'Khalil', 'Farouk', 'Al Mansoori', 'Al Nahyan', 'Saleh', 'Nasser', 'Haddad', 'Fahmy'],
  },
  in: {
    first: ['Aarav', 'Priya', 'Rajesh', 'Ananya', 'Venkatesh', 'Lakshmi', 'Arjun', 'Deepika', 'Rohan', 'Sneha', 'Vikram', 'Kavya', 'Sandeep', 'Pooja', 'Mohammed', 'Harpreet', 'Suresh', 'Divya'],
    last: ['Sharma', 'Patel', 'Singh', 'Kumar', 'Reddy', 'Iyer', 'Nair', 'Gupta', 'Mehta', 'Chatterjee', 'Banerjee', 'Rao', 'Krishnamurthy', 'Venkataraman', 'Khan', 'Joshi', 'Desai', 'Pillai'],
  },
  cn: {
    first: ['Wei', 'Fang', 'Jing', 'Lei', 'Xiaoming', 'Li Na', 'Hao', 'Yan', 'Jun', 'Mei', 'Zhiwei', 'Xin', 'Yu', 'Ting', 'Chen'],
    last: ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Xu', 'Sun', 'Ma', 'Zhu', 'Guo', 'Ouyang'],
  },
  jp: {
    first: ['Haruto', 'Yui', 'Sota', 'Aoi', 'Ren', 'Hina', 'Takeshi', 'Yuko', 'Kenji', 'Sakura', 'Hiroshi', 'Akiko', 'Daiki', 'Misaki', 'Shōta'],
    last: ['Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kobayashi', 'Kato', 'Yoshida', 'Yamada', 'Sasaki', 'Matsumoto', 'Inoue', 'Ōno'],
  },
  kr: {
    first: ['Min-jun', 'Seo-yeon', 'Ji-hoon', 'Ji-woo', 'Hyun-woo', 'Soo-ah', 'Dong-hyun', 'Eun-ji', 'Jae-won', 'Ha-eun', 'Sung-min', 'Yeon-woo'],
    last: ['Kim', 'Lee', 'Park', 'Choi', 'Jung', 'Kang', 'Cho', 'Yoon', 'Jang', 'Lim', 'Han', 'Shin'],
  },
  vn: {
    first: ['Anh', 'Linh', 'Minh', 'Trang', 'Huy', 'Thảo', 'Tuấn', 'Ngọc', 'Duc', 'Phương', 'Quang', 'Hương', 'Long', 'Mai'],
    last: ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ', 'Nguyen', 'Tran'],
  },
  ph: {
    first: ['Jose', 'Maria', 'Mark', 'Angelica', 'John Paul', 'Kristine', 'Jerome', 'Princess', 'Rodrigo', 'Mary Grace', 'Jun', 'Lovely', 'Ramon', 'Cherry'],
    last: ['Santos', 'Reyes', 'Cruz', 'Bautista', 'Ocampo', 'Garcia', 'Mendoza', 'Torres', 'Tomas', 'Aquino', 'dela Cruz', 'Villanueva', 'Ramos', 'Castro'],
  },
  nz: {
    first: ['Aroha', 'Tane', 'Mere', 'Wiremu', 'Ngaire', 'Hemi', 'Olivia', 'Liam'],
    last: ['Ngata', 'Parata', 'Te Whaiti', 'Walker', 'Tipene', 'Wilson', 'Harawira', 'Thompson'],
  },
};

/** Nicknames a duplicate record may use instead of the formal first name. */
// prettier-ignore
export const NICKNAMES: Record<string, string[]> = {
  William: ['Bill', 'Will', 'Liam'],
  Robert: ['Bob', 'Rob', 'Bobby'],
  Elizabeth: ['Liz', 'Beth', 'Lisa'],
  Katherine: ['Kate', 'Kathy', 'Katie'],
  Michael: ['Mike', 'Mick'],
  Jennifer: ['Jen', 'Jenny'],
  Christopher: ['Chris'],
  Nicholas: ['Nick'],
  Jonathan: ['Jon', 'Jonny'],
  Samantha: ['Sam', 'Sammy'],
  Patricia: ['Pat', 'Trish'],
  Alexander: ['Alex', 'Sasha'],
  Alejandro: ['Alex', 'Ale'],
  Aleksander: ['Olek', 'Alek'],
  Daniel: ['Dan', 'Danny'],
  James: ['Jim', 'Jimmy', 'Jamie'],
  Thomas: ['Tom', 'Tommy'],
  Margaret: ['Maggie', 'Peggy', 'Meg'],
  Francisco: ['Paco', 'Pancho'],
  José: ['Pepe'],
  Jose: ['Pepe', 'Joey'],
  Guadalupe: ['Lupe'],
  Jesús: ['Chuy'],
  Giuseppe: ['Beppe', 'Pino'],
  Francesco: ['Franco', 'Cesco'],
  Francesca: ['Fran', 'Franci'],
  Johannes: ['Hannes', 'Jo'],
  Maximilian: ['Max'],
  Katarzyna: ['Kasia'],
  Małgorzata: ['Gosia'],
  Venkatesh: ['Venky'],
  Rajesh: ['Raj'],
  Mohammed: ['Mo'],
  Mohamed: ['Mo'],
  Abdullahi: ['Abdul'],
  Oluwaseun: ['Seun'],
  Chukwuemeka: ['Emeka'],
  Babatunde: ['Tunde'],
  Funmilayo: ['Funmi'],
  Abdelrahman: ['Abdo'],
  'Jean-Baptiste': ['JB'],
  Pádraig: ['Paddy'],
  Takeshi: ['Take'],
  Guilherme: ['Gui'],
  Matthias: ['Matze'],
};

// prettier-ignore
export const COMPANY_ROOTS = [
  'Northwind', 'Bluepeak', 'Helix', 'Ardent', 'Kestrel', 'Lumen', 'Cobalt', 'Meridian', 'Orchid', 'Vantage', 'Granite',
  'Solstice', 'Tidewater', 'Pioneer', 'Aurora', 'Summit', 'Harbor', 'Silverline', 'Redwood', 'Evergreen', 'Quantum',
  'Atlas', 'Beacon', 'Cascade', 'Driftwood', 'Emberly', 'Falcon', 'Juniper', 'Keystone', 'Lighthouse', 'Mosaic',
  'Nimbus', 'Oakridge', 'Prism', 'Riverstone', 'Sable', 'Trellis', 'Umbra', 'Verdant', 'Zephyr', 'Sakura', 'Baobab',
  'Andes', 'Fjord', 'Sahara', 'Monsoon', 'Tundra', 'Delta', 'Saffron', 'Jade',
];

// prettier-ignore
export const COMPANY_SECTORS = [
  'Logistics', 'Analytics', 'Foods', 'Health', 'Systems', 'Labs', 'Energy', 'Retail', 'Capital', 'Robotics', 'Media',
  'Textiles', 'Pharma', 'Software', 'Consulting', 'Outdoor', 'Insurance', 'Motors', 'Bio', 'Studios', 'Freight',
  'Partners', 'Technologies', 'Hospitality',
];

// prettier-ignore
export const TITLES = [
  'CEO', 'CTO', 'CFO', 'COO', 'Founder', 'Co-Founder', 'VP of Sales', 'VP Marketing', 'Head of Growth',
  'Director of Operations', 'Marketing Manager', 'Sales Manager', 'Account Executive', 'Senior Account Executive',
  'Sales Development Representative', 'Customer Success Manager', 'Product Manager', 'Senior Software Engineer',
  'Software Engineer', 'Data Analyst', 'Data Scientist', 'HR Business Partner', 'Office Manager', 'Procurement Lead',
  'IT Administrator', 'Operations Analyst', 'Chief of Staff', 'Managing Director', 'General Counsel', 'Buyer',
  'Owner', 'Consultant', 'Head of E-commerce', 'Brand Manager', 'Controller',
];

// prettier-ignore
export const LEAD_SOURCES = [
  'Web', 'Organic Search', 'Paid Search', 'Referral', 'Partner', 'Event', 'Webinar', 'Trade Show', 'Cold Call',
  'Email Campaign', 'Social Media', 'Purchased List', 'Direct Traffic', 'Other',
];

/** Lifecycle stages (HubSpot's internal values, which the other vendors' sandboxes map from). */
// prettier-ignore
export const LIFECYCLE_STAGES = [
  'subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other',
];
export const LIFECYCLE_WEIGHTS = [14, 26, 12, 8, 8, 26, 3, 3];
