// Prints a Parquet file's rows as JSON, read by hyparquet: a reader
// written independently of parquet-go, in another language.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const file = await asyncBufferFromFile(process.argv[2])
const metadata = await parquetMetadataAsync(file)
const rows = await parquetReadObjects({ file, metadata, compressors })
const codecs = [...new Set(metadata.row_groups.flatMap(g => g.columns.map(c => c.meta_data.codec)))]
const schema = parquetSchema(metadata).children.map(c => c.element.name)
process.stdout.write(JSON.stringify({ codecs, columns: schema, rows },
  (k, v) => typeof v === 'bigint' ? Number(v) : v))
