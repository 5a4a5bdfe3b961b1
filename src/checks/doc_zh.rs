//! The check kinds' documentation in Chinese, shown by `qc check --explain KIND` (the default
//! language; `--lang en` shows each kind's English `DOC`). Each text has the English one's
//! sections, the same example and the same anomaly reason; tests hold them together.

pub const NOT_NULL: &str = r"# not_null（非空）

## 检查内容
该列有值：不为 NULL；文本列还不能为空白（空串，或只有空格、制表符、换行、全角空格 U+3000）。

## 空值
NULL 不通过（这是唯一报告 NULL 的检查类型）；该列 `null_like` 中声明的占位值（如 无、不详、`/`）
也不通过：对所有规则而言它们都算缺失。

## 参数
- `column`：要检查的列。

## 示例
```yaml
check:
  not_null: { column: address_code }
```

## 问题说明
「{column}」为空
";

pub const PATTERN: &str = r"# pattern（格式）

## 检查内容
**整个**值匹配正则表达式（Rust `regex` 语法；qc 自动加首尾锚定，`\d{6}` 即恰好六位数字）。
数值和日期按其文本形式匹配。

## 空值
NULL 通过（要求有值请用 `not_null`）。

## 参数
- `column`：要检查的列。
- `regex`：正则表达式。

## 示例
```yaml
check:
  pattern: { column: postcode, regex: '20[0-2]\d{3}' }
```

## 问题说明
「{column}」格式不符合 {regex}
";

pub const ALLOWED: &str = r"# allowed（允许值）

## 检查内容
值属于允许的集合：规则里直接列出（`values`），或规则包旁的代码表（`code_list: NAME` 读取
`codelists/NAME.csv` 的第一列）。文本逐字比较（大小写、空格都算）。

## 空值
NULL 通过（要求有值请用 `not_null`）。

## 参数
- `column`：要检查的列。
- `values`：允许的值；或
- `code_list`：代码表名称。
- `header`：与 `code_list` 同用，代码表第一行是否为表头（默认是；若第一行看起来像一个代码，
  在 `header` 写明之前拒绝使用该表）。

表头含 `valid_from` / `valid_to` 列（`YYYY-MM-DD`，含首尾两日，空为不限）的代码表为代码标注了
启用和停用日期：规则须写明 `record_date`（记录日期列），值须是该记录日期当天在用的代码才通过
（记录日期为空时，只要是表中的代码即通过）。

## 示例
```yaml
check:
  allowed: { column: district_code, code_list: shanghai_districts }
```

## 问题说明
「{column}」的值不在允许的代码集内
";

pub const RANGE: &str = r"# range（取值范围）

## 检查内容
数值、日期或时间戳在范围之内：`min`、`max` 含边界（可以等于），`above`、`below` 不含边界（必须
严格超出）。日期写作 `YYYY-MM-DD`，时间戳写作 `YYYY-MM-DD HH:MM:SS`。任一端可以不设。

## 空值
NULL 通过（要求有值请用 `not_null`）。

## 参数
- `column`：整数、浮点、日期或时间戳列。
- `min` 或 `above`：下界，含或不含边界。
- `max` 或 `below`：上界，含或不含边界（至少给一个界）。

## 示例
```yaml
check:
  range: { column: building_area, above: 0, max: 1000000 }
```

## 问题说明
「{column}」超出范围 {interval}
";

pub const LENGTH: &str = r"# length（长度）

## 检查内容
文本的**字符**数（不是字节数：`上海市` 长度为 3）在 `min` 与 `max` 之间，两端都含。
要求定长时两者写同一个值。

## 空值
NULL 通过（要求有值请用 `not_null`）。

## 参数
- `column`：文本列。
- `min`、`max`：上下界（至少一个）。

## 示例
```yaml
check:
  length: { column: community_code, min: 12, max: 12 }
```

## 问题说明
「{column}」长度不在 {interval} 之内
";

pub const ORDER: &str = r"# order（先后顺序）

## 检查内容
同一行的两列按所写关系比较：`left op right`，`op` 为 `<`、`<=`（默认）、`=`、`>=`、`>` 之一。
两列同为数值，或同为日期/时间戳。常见用法：出生日期 ≤ 登记日期，死亡日期 ≤ 火化日期。

## 空值
任一值为 NULL 即通过（要求有值请用 `not_null`）。

## 参数
- `left`、`right`：两列。
- `op`：比较关系（默认 `<=`）。

## 示例
```yaml
check:
  order: { left: birth_date, op: '<=', right: reg_date }
```

## 问题说明
「{left}」与「{right}」先后顺序不符合 {op}
";

pub const EXPR: &str = r#"# expr（SQL 条件）

## 检查内容
对该行各列的布尔 SQL 表达式成立（DataFusion 的 SQL：比较、`AND`/`OR`/`NOT`、`CASE`、`IN`、
`LIKE`、字符串、日期和数学函数，以及 qc 的 `qc_*` 函数）。它是表达式而不是查询：语句（DDL、
DML、COPY 等）、子查询、表函数、聚合和窗口函数都会被 `qc check` 拒绝。

## 空值
同 SQL 的 CHECK 约束：结果为 NULL 时通过，只有 FALSE 不通过。要让 NULL 不通过，写
`x IS NOT NULL AND …`。

## 参数
SQL 文本本身：`expr: "<条件>"`。

## 示例
```yaml
check:
  expr: "death_date >= birth_date OR birth_date IS NULL"
```

## 问题说明
不满足「{name}」
即规则名称，而不是其 SQL：反馈文件发给数据提供单位，他们不读 SQL。要逐行说明哪些值不一致，
给规则写 `message`。
"#;

pub const ID_NUMBER: &str = r"# id_number（公民身份号码）

## 检查内容
按 `aspect` 检查公民身份号码（GB 11643-1999）的一个方面：
- `valid`（默认）：公民的号码且书写完整：18 位，出生日期真实（不早于 1880-01-01），地址码
  属某一省份（GB/T 2260 前两位），MOD 11-2 校验码正确；或 15 位旧号码（不以 9 开头），日期
  真实、省份有效。`normalize: true` 时按规范形式判断（小写 x、空格、全角数字、撇号属于
  `normalized` 方面的问题，不算无效号码），各方面都遵循它。港澳台（81/82/83 开头）和外国人
  （9 开头）的号码不是公民身份号码。
- `normalized`：书写规范（无空格、全角数字、小写 x、浮点写法），与 `valid` 分开的规范性检查。
- `address`：地址码为上海现行或已撤销的代码（310103 卢湾区仍合法），或外省市有效的省级前缀。
- `birth_date`：号码中的出生日期等于 `birth_date` 列。
- `sex`：顺序码奇偶与 `sex` 列一致（`1` 男为奇，`2` 女为偶）。

## 空值
号码为 NULL 时通过；`birth_date` 和 `sex` 方面，该列为 NULL 或号码中读不出日期、性别时也
通过（这些号码由 `valid` 规则报告）。

## 参数
- `column`：号码所在的文本列。
- `aspect`：`valid` | `normalized` | `address` | `birth_date` | `sex`。
- `birth_date`：日期列（`birth_date` 方面）。
- `sex`：性别代码列，GB/T 2261.1（`sex` 方面）。
- `normalize`：`true` 表示按规范形式判断（默认 `false`）。

## 示例
```yaml
check:
  id_number: { column: male_id, aspect: sex, sex: male_sex }
```

## 问题说明
身份证号「{column}」不符合要求（{aspect}）
`birth_date`、`sex` 方面的问题行另附号码编码的值与登记值（`id_no: 1985-05-05 ≠ birth_date:
1985-05-06`），号码本身仍脱敏。
";

pub const ADMIN_CODE: &str = r"# admin_code（行政区划代码）

## 检查内容
值是所写层级的上海行政区划代码：`district`（区，6 位，GB/T 2260）、`street`（街道、镇、乡等，
9 位）或 `community`（居委会、村委会，12 位），依 2023 年统计用区划代码。`district` 层级配
`as_of`（日期列）时，代码须在记录日期当天有效：已撤销的代码用到最后一天为止（310103 卢湾区至
2011-06-07），新代码自启用之日起（310151 崇明区自 2016-07-22），日期依代码表
`shanghai_district_codes_history.csv`。`grace_days: N` 让已撤销的代码多用 N 天（各单位旧印章
会沿用一段时间；可用一条严格的警告规则配一条宽松的错误规则）。`elsewhere: province` 接受上海以外、
前两位为有效省份（GB/T 2260）的 6 位代码，用于外省市户籍人员。

## 空值
代码为 NULL 时通过（要求有值请用 `not_null`）；配 `as_of` 时，日期为 NULL 则按现行代码判断。

## 参数
- `column`：代码列（文本）。
- `level`：`district` | `street` | `community`。
- `as_of`：日期列（仅 `district` 层级）。
- `grace_days`：已撤销代码在最后一天之后仍接受的天数（配 `as_of`；默认 0）。
- `elsewhere`：`province`（仅 `district` 层级）。

## 示例
```yaml
check:
  admin_code: { column: district_code, level: district, as_of: reg_date, grace_days: 366 }
```

## 问题说明
「{column}」不是有效的{level}代码
";

pub const WITHIN_REGION: &str = r#"# within_region（坐标落在所填区内）

## 检查内容
点（经度、纬度，单位度）落在区代码列所填之区的边界内（上海现行 16 个区，`rules/reference/`）。
边界精度约 100 米、坐标系未注明，宜用 `warn` 级别并设阈值，并与坐标的 `range` 检查配合
（前置条件如 `when: "longitude BETWEEN 120.85 AND 122.25"`，避免一个坏坐标不通过两次）。

## 空值
坐标或代码为 NULL 时通过；代码不是现行区代码时也通过（由区代码自己的规则报告）。

## 参数
- `longitude`、`latitude`：数值列。
- `district`：6 位区代码列。

## 示例
```yaml
check:
  within_region: { longitude: longitude, latitude: latitude, district: district_code }
```

## 问题说明
坐标（{longitude}, {latitude}）不在「{district}」所填区的范围内
"#;

pub const UNIQUE: &str = r"# unique（唯一）

## 检查内容
表中任意两条适用的记录在 `columns` 上的取值都不相同（一列或多列组合）。默认**重复组中每一行
都不通过**——规则无法知道哪一份是对的——汇总还给出重复组数。`keep: first` 时，组内按
`order_by`（再按表的主键）排第一的记录通过，只有后来的副本不通过，各按表的主键对应：计数即多出的
副本数（重复率），反馈也能说明哪条记录在先。结果与行序、分区和线程数无关。

## 空值
任一列为 NULL 的行不适用（同 SQL 的 UNIQUE：NULL 之间不算重复）；取值为某列 `null_like`
占位值的行也不适用（写作“无”的行不构成重复组）。`when` 前置条件限定哪些行参与比较。

## 参数
- `columns`：列名列表。
- `keep`：`all_fail`（默认）或 `first`。
- `order_by`：配 `keep: first`，决定哪份在先的列（升序；NULL 排最后；并列时按表的主键）。
  默认为表的主键。

## 示例
```yaml
check: { unique: { columns: [record_id], keep: first, order_by: [issue_date] } }
```
（`check: { unique: { columns: [id_no] } }` 则每一份都不通过。）

## 问题说明
{columns} 重复
";

pub const REFERENCE: &str = r"# reference（引用存在）

## 检查内容
`columns` 的取值出现在 `table`（写作 `库.表`：同一规则包的另一张表，或同一次运行中其他规则包
的表）的 `target_columns` 中，可用 `target_where` 只看目标表中满足条件的行。找不到对应值的行
不通过；汇总还给出找不到的不同取值个数。

目标表的规则包在本包旁边但不在本次运行中时，该规则跳过并给出提示（用 `qc run --rules rules/`
纳入所有规则包）。

## 空值
`columns` 任一列为 NULL 的行不适用（同 SQL 外键）。目标表中的 NULL 不与任何值匹配。

## 参数
- `columns`：本表的引用列；
- `table`：目标表，写作 `库.表`；
- `target_columns`：被引用的列（默认与 `columns` 同名）；
- `target_where`：目标表行上的可选 SQL 条件。

## 示例
```yaml
check:
  reference:
    columns: [address_code]
    table: spatial.address
    target_columns: [address_code]
```

## 问题说明
{columns} 在 {table} 中不存在
";

pub const QUERY: &str = r"# query（SQL 查询）

## 检查内容
对本次运行各表（写作 `库.表`，含其他规则包的表）执行只读的 SQL `SELECT`，返回本表异常行的键值：
某行的 `on` 列（默认为表的主键）等于返回的某个元组即不通过。SELECT 返回的列数与 `on` 所列相同、
顺序一致。跨行规则（同一人两段婚姻重叠）和跨库规则（登记日期晚于当事人死亡）就这样写。

只接受一条 SELECT（可带 WITH）：不许 DDL、DML、COPY、SET、CREATE EXTERNAL TABLE，不许表函数，
只能读本次运行规则包中声明的表。某表的规则包在本包旁边但不在本次运行中时，该规则跳过并给出提示。

## 空值
`on` 任一列为 NULL 的行不适用。查询返回的含 NULL 的元组不与任何行匹配。

## 参数
- `sql`：SELECT 语句；
- `on`：本表中与查询结果对应的列（默认为表的主键）。

## 示例
```yaml
check:
  query:
    on: [reg_id]
    sql: >-
      SELECT r.reg_id FROM marriage.registration r
      JOIN death.record d ON d.id_no = r.male_id
      WHERE d.death_date < r.reg_date
```

## 问题说明
命中规则查询（见规则说明）
";

pub const HISTORY: &str = r#"# history（个人履历）

## 检查内容
每条记录属于其 `of` 列所指之人的履历（一条婚姻登记属于双方各自的履历），按 `date` 排序。
`find` 指明哪些记录异常：
- `not_latest`：此人另有日期严格更晚的记录（死亡又被登记一次：除最后一条外都异常）。
- `overlap`：此人的开启记录（`opens`），而此人另有更早的开启记录（日期更早；或同一天、`pair`
  不同且记录键更小：同一天与不同对象登记的两段婚姻，键大的一条是第二段；同一对当事人同一天两条
  是重复记录，不是第二段婚姻），且在更早那条的日期到本条日期之间（含两端）没有同一 `pair` 的
  关闭记录（`closes`）将其关闭（婚姻存续期间再婚）。配 `ends` 时，若更早记录的一方有日期不晚于
  本条的终止事件（死亡），更早的记录也视为关闭（丧偶后再婚不是重婚）。
- `close_without_open`：关闭记录之前（含当天）没有同一 `pair` 的开启记录（离婚而此前无结婚）。

只有记录多于一条的人（`close_without_open` 为有关闭记录的当事人）的记录会读第二遍；其余只读
一遍，用满所有核。

## 空值
NULL 人员不加入任何履历；日期为 NULL 的记录不早于也不晚于其他记录。`overlap` 中，`pair` 含
NULL 的更早开启记录永远不会被关闭；`close_without_open` 中，`pair` 或日期为 NULL 的关闭记录
没有开启记录。键为 NULL 的行不适用。

## 参数
- `of`：人员列（一列或多列，互相比较：一个人可能出现在其中任一列）。
- `date`：日期或时间戳列。
- `find`：`not_latest` | `overlap` | `close_without_open`。
- `opens`、`closes`：行上的 SQL 条件（`overlap`、`close_without_open`）。
- `pair`：关闭记录须与开启记录相同才能关闭它的列（默认为 `of`）；`of` 的每一列都须在其中。
- `ends`（仅 `overlap`）：`{ table, person, date }`，一张终止事件表，事件终止其所指之人的所有
  开启记录（死亡终止婚姻）：`table` 写作 `库.表`，`person` 为与 `of` 原样比较的列（类型相同；
  NULL 或 `null_like` 的人不终止任何记录），`date` 为其日期列（日期为 NULL 不终止）。该表的
  规则包在本包旁边但不在本次运行中时，规则**不带** `ends` 运行并如实说明（`rule-partial` 警告，
  汇总中的 `partial_rules`）：其结果会包含终止事件本可排除的再婚。

## 示例
```yaml
check:
  history:
    of: [male_id, female_id]
    date: reg_date
    opens: "business_type = '结婚'"
    closes: "business_type = '离婚'"
    find: overlap
```

## 问题说明
「{of}」的履历中{finding}
"#;

pub const TABLE_CHECKS: &str = r#"# table_checks（表级检查）

## 检查内容
整张表的性质，写在表的 `table_checks:` 下（不在 `rules:` 下）：
- `row_count: { min: N, max: N }`：稽核的行数在范围内（任一端可不设）；
- `row_count_change: { max_percent: P }`：行数与运行历史中同一张表上一次完整运行相差不超过 P%；
  无历史可比时跳过并给出提示；
- `freshness: { column: C, max_age_days: N }`：日期/时间戳列 C 中不晚于运行日期的最新值，距运行
  日期不超过 N 天（`qc run --as-of DATE`，默认今天）；晚于运行日期的值由检查它们的规则处理；
- `completeness: { column: C, min_rate: R }`：至少比例 R（0–1）的行在 C 列有值；
- `metric: { value: SQL, group_by: [C, …], min: A, max: B, expect: [V, …] }`：聚合 SQL 表达式
  `value`（count、sum、avg、min、max 等；聚合之外只能读 `group_by` 列）在整表上、或在 `group_by`
  取值相同的每组行上落在范围内；超出范围的每一组是一条发现，以其分组取值命名。只有一个 `group_by`
  列时，`expect` 列出必须出现的取值：缺少的组按零行计算（此时 `count(*)` 为 0）。值为 NULL 的组
  （如对空值求平均）不判定。没有组超出范围即通过；
- `trend: { metric: M, per: table|provider, against: A, max_percent: P | k: K }`：本次运行的指标 M
  （`rows`、`{ failed_rate: 规则 }`、`{ null_rate: 列 }`、`{ distinct: 列 }`、`{ mean: 列 }`），
  按整表或按提供单位，落在从运行历史学得的范围内：A 为 `previous`、`{ mean_of_last: N }` 或
  `same_month_last_year`（基线 ± P%），或 `{ median_of_last: N }`（中位数 ± K·MAD）。历史运行不足
  时跳过。

## 空值
`freshness` 忽略 NULL 日期；没有任何不晚于运行日期的日期则不通过。`completeness` 把 NULL 算作缺失。
`metric`：`group_by` 列为 NULL 的行自成一组（显示为 ∅）；聚合按 SQL 的规则处理 NULL（`count(col)`
跳过 NULL，`count(*)` 不跳过）。

## 参数
见上。每个表级检查都有 `id`、`name`、`dimension`，以及可选的 `severity`（默认 `error`，或 `warn`）
和 `description`。

## 示例
```yaml
table_checks:
  - id: MAR-T01
    name: 当期登记数据已更新
    dimension: 时效性
    severity: warn
    check: { freshness: { column: reg_date, max_age_days: 31 } }
  - id: DEA-T05
    name: 各医院死因不明比例不超过 5%
    dimension: 准确性
    check:
      metric:
        value: "avg(CASE WHEN underlying_cause LIKE 'R%' THEN 1.0 ELSE 0.0 END)"
        group_by: [hospital]
        max: 0.05
```

## 问题说明
无：表级检查报告观测值、期望和结论，不产生异常行；`metric` 超出范围的组列在汇总中，按提供单位分组时
写入该单位的问题反馈文件。
"#;
