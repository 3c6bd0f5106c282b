using Egressd.Exporter;
using Egressd.Shared.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddEgressdDefaults("egressd-exporter", defaultPort: 6060);
builder.AddExporter();
var app = builder.Build();
app.MapEgressdEndpoints();
return await app.RunEgressdAsync();
