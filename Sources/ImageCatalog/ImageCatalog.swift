// ImageCatalog
