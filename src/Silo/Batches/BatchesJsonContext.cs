using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansLlm.Silo.Batches;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BatchTable))]
internal sealed partial class BatchesJsonContext : JsonSerializerContext;
