"""Curated vocabularies of the ecombench-core catalog, written for this project.

Each category lists its path, product nouns, the typed attributes its products carry, a one-line
description, a price range, and the categories bought together with it. Translations (German,
Spanish, Japanese) cover every word a title is built from, so translated titles are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Attribute kinds and their values. Numeric kinds carry their unit in the value.
COLORS = ("black", "white", "red", "blue", "green", "grey", "pink", "yellow")
MATERIALS = ("cotton", "polyester", "wool", "leather", "stainless steel", "aluminium", "plastic", "glass",
             "ceramic", "bamboo", "silicone", "wood", "nylon", "rubber", "linen", "canvas")
SIZES = ("S", "M", "L", "XL")
SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44")


@dataclass(frozen=True)
class Category:
    """One leaf category of the catalog."""

    key: str
    path: tuple[str, ...]
    nouns: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    description: str
    price: tuple[float, float]
    complements: tuple[str, ...] = field(default=())


def _c(key, path, nouns, attributes, description, price, complements=()):
    return Category(key, tuple(path.split(" > ")), tuple(nouns), attributes, description, price, tuple(complements))


CATEGORIES: tuple[Category, ...] = (
    _c("tshirts", "Clothing > Tops > T-Shirts", ["t-shirt", "polo shirt"], {"color": COLORS, "material": ("cotton", "polyester", "linen"), "size": SIZES},
       "short-sleeved casual tops worn on the upper body", (8, 40), ["jeans", "sneakers"]),
    _c("jeans", "Clothing > Bottoms > Jeans", ["jeans", "chinos"], {"color": ("blue", "black", "grey"), "material": ("cotton",), "size": SIZES},
       "trousers made of sturdy cotton fabric", (25, 90), ["tshirts", "belts"]),
    _c("sweaters", "Clothing > Tops > Sweaters", ["sweater", "cardigan"], {"color": COLORS, "material": ("wool", "cotton"), "size": SIZES},
       "warm knitted tops for cold weather", (20, 80), ["jeans", "scarves"]),
    _c("jackets", "Clothing > Outerwear > Jackets", ["rain jacket", "down jacket"], {"color": ("black", "blue", "green", "red"), "material": ("nylon", "polyester"), "size": SIZES},
       "outer garments that protect from wind, rain and cold", (40, 200), ["sweaters", "backpacks"]),
    _c("scarves", "Clothing > Accessories > Scarves", ["scarf"], {"color": COLORS, "material": ("wool", "cotton", "linen")},
       "long pieces of fabric worn around the neck", (10, 45), ["jackets", "sweaters"]),
    _c("belts", "Clothing > Accessories > Belts", ["belt"], {"color": ("black", "blue"), "material": ("leather", "canvas"), "length": ("90 cm", "100 cm", "110 cm")},
       "straps worn around the waist to hold up trousers", (10, 50), ["jeans"]),
    _c("sneakers", "Shoes > Sneakers", ["sneakers", "running shoes"], {"color": ("white", "black", "blue", "grey"), "material": ("leather", "canvas", "nylon"), "shoe size": SHOE_SIZES},
       "casual and sports shoes with rubber soles", (35, 150), ["socks", "tshirts"]),
    _c("boots", "Shoes > Boots", ["hiking boots", "ankle boots"], {"color": ("black", "grey", "green"), "material": ("leather", "rubber"), "shoe size": SHOE_SIZES},
       "sturdy shoes that cover the ankle", (50, 200), ["socks", "backpacks"]),
    _c("socks", "Clothing > Underwear > Socks", ["socks"], {"color": COLORS, "material": ("cotton", "wool"), "pack": ("3 pairs", "5 pairs", "10 pairs")},
       "knitted coverings for the feet", (5, 25), ["sneakers", "boots"]),
    _c("backpacks", "Bags > Backpacks", ["backpack", "daypack"], {"color": ("black", "blue", "grey", "green"), "material": ("nylon", "polyester", "canvas"), "capacity": ("20 L", "30 L", "40 L")},
       "bags carried on the back for travel, school or hiking", (25, 120), ["water_bottles", "laptops"]),
    _c("water_bottles", "Sports & Outdoors > Hydration > Water Bottles", ["water bottle"], {"color": COLORS, "material": ("stainless steel", "plastic", "glass"), "capacity": ("500 ml", "750 ml", "1 L")},
       "reusable bottles for carrying drinks", (8, 40), ["backpacks", "yoga_mats"]),
    _c("yoga_mats", "Sports & Outdoors > Fitness > Yoga Mats", ["yoga mat"], {"color": ("pink", "blue", "green", "black"), "material": ("rubber", "plastic"), "thickness": ("4 mm", "6 mm", "8 mm")},
       "padded mats for yoga and floor exercise", (15, 60), ["water_bottles", "dumbbells"]),
    _c("dumbbells", "Sports & Outdoors > Fitness > Dumbbells", ["dumbbell set", "dumbbell"], {"color": ("black", "grey", "red"), "material": ("rubber", "stainless steel"), "weight": ("2 kg", "5 kg", "10 kg")},
       "hand weights for strength training", (15, 120), ["yoga_mats"]),
    _c("tents", "Sports & Outdoors > Camping > Tents", ["dome tent", "backpacking tent"], {"color": ("green", "grey", "yellow"), "material": ("nylon", "polyester"), "capacity": ("1 person", "2 person", "4 person")},
       "portable shelters for camping", (60, 350), ["sleeping_bags", "backpacks"]),
    _c("sleeping_bags", "Sports & Outdoors > Camping > Sleeping Bags", ["sleeping bag"], {"color": ("blue", "green", "red"), "material": ("nylon", "polyester"), "temperature rating": ("0 °C", "5 °C", "10 °C")},
       "insulated bags to sleep in outdoors", (30, 160), ["tents"]),
    _c("phone_cases", "Electronics > Phone Accessories > Cases", ["phone case"], {"color": COLORS, "material": ("silicone", "leather", "plastic"), "compatibility": ("iPhone 15", "iPhone 14", "Galaxy S24", "Pixel 8")},
       "covers that protect a mobile phone", (8, 45), ["chargers", "screen_protectors"]),
    _c("screen_protectors", "Electronics > Phone Accessories > Screen Protectors", ["screen protector"], {"material": ("glass", "plastic"), "compatibility": ("iPhone 15", "iPhone 14", "Galaxy S24", "Pixel 8"), "pack": ("1 pack", "2 pack", "3 pack")},
       "thin sheets that guard a phone's display from scratches", (6, 25), ["phone_cases"]),
    _c("chargers", "Electronics > Phone Accessories > Chargers", ["USB-C charger", "wall charger"], {"color": ("white", "black"), "power": ("20 W", "30 W", "65 W", "100 W"), "ports": ("1 port", "2 ports", "3 ports")},
       "power adapters that charge phones and laptops", (12, 70), ["cables", "phone_cases"]),
    _c("cables", "Electronics > Cables > USB Cables", ["USB-C cable", "charging cable"], {"color": ("white", "black", "red"), "material": ("nylon", "rubber"), "length": ("1 m", "2 m", "3 m")},
       "cords that connect and charge devices", (5, 25), ["chargers", "laptops"]),
    _c("headphones", "Electronics > Audio > Headphones", ["wireless headphones", "earbuds"], {"color": ("black", "white", "blue"), "battery life": ("20 hours", "30 hours", "40 hours")},
       "devices worn on or in the ears to listen to audio", (20, 300), ["cables", "phone_cases"]),
    _c("laptops", "Electronics > Computers > Laptops", ["laptop", "notebook"], {"color": ("grey", "black"), "screen size": ("13 inch", "14 inch", "15.6 inch"), "memory": ("8 GB", "16 GB", "32 GB")},
       "portable personal computers", (400, 2000), ["laptop_sleeves", "mice"]),
    _c("laptop_sleeves", "Electronics > Computers > Laptop Sleeves", ["laptop sleeve"], {"color": ("black", "grey", "blue"), "material": ("polyester", "leather", "nylon"), "screen size": ("13 inch", "14 inch", "15.6 inch")},
       "padded covers that protect a laptop in a bag", (12, 45), ["laptops"]),
    _c("mice", "Electronics > Computers > Mice", ["wireless mouse", "gaming mouse"], {"color": ("black", "white", "grey"), "connection": ("Bluetooth", "USB receiver")},
       "pointing devices for computers", (10, 90), ["laptops", "keyboards"]),
    _c("keyboards", "Electronics > Computers > Keyboards", ["mechanical keyboard", "wireless keyboard"], {"color": ("black", "white", "grey"), "connection": ("Bluetooth", "USB receiver", "USB cable")},
       "input devices with keys for typing", (20, 180), ["mice", "laptops"]),
    _c("kettles", "Home & Kitchen > Appliances > Kettles", ["electric kettle"], {"color": ("black", "white", "red"), "material": ("stainless steel", "glass", "plastic"), "capacity": ("1 L", "1.5 L", "1.7 L"), "power": ("1500 W", "2000 W", "2200 W")},
       "appliances that boil water", (20, 90), ["mugs", "teapots"]),
    _c("mugs", "Home & Kitchen > Drinkware > Mugs", ["coffee mug", "travel mug"], {"color": COLORS, "material": ("ceramic", "stainless steel", "glass"), "capacity": ("300 ml", "350 ml", "450 ml")},
       "cups with handles for hot drinks", (6, 30), ["kettles", "coffee_makers"]),
    _c("teapots", "Home & Kitchen > Drinkware > Teapots", ["teapot"], {"color": ("white", "black", "blue"), "material": ("ceramic", "glass"), "capacity": ("600 ml", "1 L", "1.2 L")},
       "pots for brewing and serving tea", (15, 60), ["kettles", "mugs"]),
    _c("coffee_makers", "Home & Kitchen > Appliances > Coffee Makers", ["drip coffee maker", "espresso machine"], {"color": ("black", "grey", "red"), "capacity": ("6 cups", "10 cups", "12 cups"), "power": ("900 W", "1100 W", "1450 W")},
       "machines that brew coffee", (30, 400), ["mugs"]),
    _c("frying_pans", "Home & Kitchen > Cookware > Frying Pans", ["frying pan", "skillet"], {"material": ("stainless steel", "aluminium"), "diameter": ("20 cm", "24 cm", "28 cm")},
       "shallow pans for frying food", (15, 90), ["spatulas", "cutting_boards"]),
    _c("spatulas", "Home & Kitchen > Kitchen Utensils > Spatulas", ["spatula", "turner"], {"color": ("black", "red", "grey"), "material": ("silicone", "wood", "stainless steel")},
       "flat utensils for turning and lifting food", (4, 20), ["frying_pans"]),
    _c("cutting_boards", "Home & Kitchen > Kitchen Utensils > Cutting Boards", ["cutting board"], {"material": ("bamboo", "wood", "plastic"), "size": ("30 x 20 cm", "40 x 30 cm")},
       "boards to cut food on", (8, 45), ["frying_pans", "knives"]),
    _c("knives", "Home & Kitchen > Kitchen Utensils > Knives", ["chef knife", "bread knife"], {"material": ("stainless steel",), "blade length": ("15 cm", "20 cm", "23 cm")},
       "sharp blades for cutting food", (12, 120), ["cutting_boards"]),
    _c("bedding", "Home & Kitchen > Bedding > Duvet Covers", ["duvet cover", "pillowcase"], {"color": ("white", "grey", "blue", "pink"), "material": ("cotton", "linen"), "bed size": ("single", "double", "king")},
       "covers and cases used on a bed", (15, 90), ["pillows"]),
    _c("pillows", "Home & Kitchen > Bedding > Pillows", ["pillow"], {"material": ("cotton", "polyester"), "pack": ("1 pack", "2 pack")},
       "soft cushions to rest the head on in bed", (12, 60), ["bedding"]),
    _c("toys", "Toys & Games > Building Toys", ["building blocks", "toy car"], {"color": ("red", "blue", "yellow", "green"), "material": ("plastic", "wood"), "age": ("3+ years", "6+ years", "8+ years")},
       "things children play with", (10, 80), ["puzzles"]),
    _c("puzzles", "Toys & Games > Puzzles", ["jigsaw puzzle"], {"material": ("cardboard", "wood"), "pieces": ("500 pieces", "1000 pieces", "2000 pieces")},
       "games of fitting pieces together into a picture", (8, 40), ["toys"]),
)

MATERIALS_ALL = (*MATERIALS, "cardboard")

BRANDS = ("Northwind", "Alder & Co", "Kestrel", "Brightlane", "Okami", "Lumora", "Tidewell", "Fennix", "Harbor Peak",
          "Sato Works", "Velmont", "Quillon", "Marisol", "Ostrava", "Pinecrest", "Rookwood")

# Translations of every title word: English -> (German, Spanish, Japanese)
COLOR_T = {"black": ("schwarz", "negro", "黒"), "white": ("weiß", "blanco", "白"), "red": ("rot", "rojo", "赤"),
           "blue": ("blau", "azul", "青"), "green": ("grün", "verde", "緑"), "grey": ("grau", "gris", "グレー"),
           "pink": ("rosa", "rosa", "ピンク"), "yellow": ("gelb", "amarillo", "黄色")}
MATERIAL_T = {"cotton": ("Baumwolle", "algodón", "綿"), "polyester": ("Polyester", "poliéster", "ポリエステル"),
              "wool": ("Wolle", "lana", "ウール"), "leather": ("Leder", "cuero", "革"), "stainless steel": ("Edelstahl", "acero inoxidable", "ステンレス"),
              "aluminium": ("Aluminium", "aluminio", "アルミ"), "plastic": ("Kunststoff", "plástico", "プラスチック"), "glass": ("Glas", "vidrio", "ガラス"),
              "ceramic": ("Keramik", "cerámica", "陶器"), "bamboo": ("Bambus", "bambú", "竹"), "silicone": ("Silikon", "silicona", "シリコン"),
              "wood": ("Holz", "madera", "木"), "nylon": ("Nylon", "nailon", "ナイロン"), "rubber": ("Gummi", "goma", "ゴム"),
              "linen": ("Leinen", "lino", "麻"), "canvas": ("Segeltuch", "lona", "キャンバス"), "cardboard": ("Karton", "cartón", "厚紙")}
NOUN_T = {
    "t-shirt": ("T-Shirt", "camiseta", "Tシャツ"), "polo shirt": ("Poloshirt", "polo", "ポロシャツ"), "jeans": ("Jeans", "vaqueros", "ジーンズ"),
    "chinos": ("Chinohose", "chinos", "チノパン"), "sweater": ("Pullover", "jersey", "セーター"), "cardigan": ("Strickjacke", "cárdigan", "カーディガン"),
    "rain jacket": ("Regenjacke", "chaqueta impermeable", "レインジャケット"), "down jacket": ("Daunenjacke", "chaqueta de plumas", "ダウンジャケット"),
    "scarf": ("Schal", "bufanda", "マフラー"), "belt": ("Gürtel", "cinturón", "ベルト"), "sneakers": ("Turnschuhe", "zapatillas", "スニーカー"),
    "running shoes": ("Laufschuhe", "zapatillas de running", "ランニングシューズ"), "hiking boots": ("Wanderstiefel", "botas de montaña", "登山靴"),
    "ankle boots": ("Stiefeletten", "botines", "ショートブーツ"), "socks": ("Socken", "calcetines", "靴下"), "backpack": ("Rucksack", "mochila", "リュック"),
    "daypack": ("Tagesrucksack", "mochila de día", "デイパック"), "water bottle": ("Trinkflasche", "botella de agua", "水筒"),
    "yoga mat": ("Yogamatte", "esterilla de yoga", "ヨガマット"), "dumbbell set": ("Hantelset", "juego de mancuernas", "ダンベルセット"),
    "dumbbell": ("Hantel", "mancuerna", "ダンベル"), "dome tent": ("Kuppelzelt", "tienda iglú", "ドームテント"),
    "backpacking tent": ("Trekkingzelt", "tienda de trekking", "登山用テント"), "sleeping bag": ("Schlafsack", "saco de dormir", "寝袋"),
    "phone case": ("Handyhülle", "funda de móvil", "スマホケース"), "screen protector": ("Displayschutz", "protector de pantalla", "画面保護フィルム"),
    "USB-C charger": ("USB-C-Ladegerät", "cargador USB-C", "USB-C充電器"), "wall charger": ("Netzladegerät", "cargador de pared", "コンセント充電器"),
    "USB-C cable": ("USB-C-Kabel", "cable USB-C", "USB-Cケーブル"), "charging cable": ("Ladekabel", "cable de carga", "充電ケーブル"),
    "wireless headphones": ("kabellose Kopfhörer", "auriculares inalámbricos", "ワイヤレスヘッドホン"), "earbuds": ("Ohrhörer", "auriculares de botón", "イヤホン"),
    "laptop": ("Laptop", "portátil", "ノートパソコン"), "notebook": ("Notebook", "ordenador portátil", "ノートPC"),
    "laptop sleeve": ("Laptophülle", "funda para portátil", "ノートパソコンケース"), "wireless mouse": ("kabellose Maus", "ratón inalámbrico", "ワイヤレスマウス"),
    "gaming mouse": ("Gaming-Maus", "ratón gaming", "ゲーミングマウス"), "mechanical keyboard": ("mechanische Tastatur", "teclado mecánico", "メカニカルキーボード"),
    "wireless keyboard": ("kabellose Tastatur", "teclado inalámbrico", "ワイヤレスキーボード"), "electric kettle": ("Wasserkocher", "hervidor eléctrico", "電気ケトル"),
    "coffee mug": ("Kaffeebecher", "taza de café", "コーヒーマグ"), "travel mug": ("Reisebecher", "taza de viaje", "トラベルマグ"),
    "teapot": ("Teekanne", "tetera", "ティーポット"), "drip coffee maker": ("Filterkaffeemaschine", "cafetera de goteo", "ドリップコーヒーメーカー"),
    "espresso machine": ("Espressomaschine", "cafetera espresso", "エスプレッソマシン"), "frying pan": ("Bratpfanne", "sartén", "フライパン"),
    "skillet": ("Pfanne", "sartén honda", "スキレット"), "spatula": ("Pfannenwender", "espátula", "フライ返し"), "turner": ("Wender", "paleta", "ターナー"),
    "cutting board": ("Schneidebrett", "tabla de cortar", "まな板"), "chef knife": ("Kochmesser", "cuchillo de chef", "牛刀"),
    "bread knife": ("Brotmesser", "cuchillo de pan", "パン切り包丁"), "duvet cover": ("Bettbezug", "funda nórdica", "布団カバー"),
    "pillowcase": ("Kissenbezug", "funda de almohada", "枕カバー"), "pillow": ("Kissen", "almohada", "枕"),
    "building blocks": ("Bausteine", "bloques de construcción", "ブロック"), "toy car": ("Spielzeugauto", "coche de juguete", "おもちゃの車"),
    "jigsaw puzzle": ("Puzzle", "rompecabezas", "ジグソーパズル"),
}
LANGUAGES = ("de", "es", "ja")

# Review aspects and the phrases that state them, positive and negative.
ASPECTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "quality": (("The quality is excellent.", "It feels solid and well made."), ("The quality is poor.", "It broke after a week.")),
    "price": (("Great value for the price.", "Cheaper than in the shops and just as good."), ("Too expensive for what it is.", "Overpriced.")),
    "size": (("The size is exactly as described.", "It fits perfectly."), ("The size runs small.", "It is much bigger than described.")),
    "color": (("The color looks just like the photos.", "Lovely color."), ("The color is different from the photos.", "The color faded after washing.")),
    "delivery": (("It arrived two days early.", "Delivery was fast."), ("Delivery took three weeks.", "The box arrived damaged.")),
    "comfort": (("Very comfortable to use all day.", "Comfortable from the first day."), ("Uncomfortable after an hour.", "It is stiff and uncomfortable.")),
    "durability": (("Still like new after months of use.", "It has held up well."), ("It wore out quickly.", "The seams came apart within a month.")),
    "ease of use": (("Very easy to set up and use.", "Simple to use, no manual needed."), ("Hard to figure out how to use it.", "The setup was confusing.")),
}
